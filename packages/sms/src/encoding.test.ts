import { describe, expect, it } from "vitest";
import { analyzeText } from "./encoding.js";

const EMOJI = "😀"; // outside the BMP: one surrogate pair, two UTF-16 code units

describe("analyzeText, GSM-7", () => {
  it.each([
    [160, 1, 160],
    [161, 2, 153],
    [306, 2, 153],
    [307, 3, 153],
    [459, 3, 153],
    [460, 4, 153],
  ])("%i plain characters need %i segment(s)", (length, segments, perSegment) => {
    expect(analyzeText("a".repeat(length))).toEqual({
      encoding: "GSM-7",
      units: length,
      segments,
      perSegment,
    });
  });

  it.each(["€", "^", "{", "}", "[", "]", "~", "\\", "|", "\f"])("counts %j as two septets", (char) => {
    expect(analyzeText(char)).toMatchObject({ encoding: "GSM-7", units: 2, segments: 1 });
  });

  it("fits 80 euro signs (160 septets) in one segment and 81 in two", () => {
    expect(analyzeText("€".repeat(80))).toMatchObject({ units: 160, segments: 1 });
    expect(analyzeText("€".repeat(81))).toMatchObject({ units: 162, segments: 2 });
  });

  it("moves an extension character that would straddle a segment boundary to the next segment", () => {
    // 306 / 153 says two segments, but segment 1 ends after 152 septets because the escape
    // sequence cannot be split, so the last "a" spills into a third.
    const straddling = `${"a".repeat(152)}€${"a".repeat(152)}`;
    expect(analyzeText(straddling)).toMatchObject({ units: 306, segments: 3 });
    const aligned = `${"a".repeat(151)}€${"a".repeat(153)}`;
    expect(analyzeText(aligned)).toMatchObject({ units: 306, segments: 2 });
  });

  it("uses GSM-7 for the accented letters the alphabet has and UCS-2 for the others", () => {
    expect(analyzeText("Ça coûte 5€? Ñandú, Øre, ß")).toMatchObject({ encoding: "UCS-2" });
    expect(analyzeText("Ça coute 5€? Ñandu, Øre, ß")).toMatchObject({ encoding: "GSM-7" });
  });

  it("treats empty text as one segment of zero units, as phones send it", () => {
    expect(analyzeText("")).toEqual({ encoding: "GSM-7", units: 0, segments: 1, perSegment: 160 });
  });
});

describe("analyzeText, UCS-2", () => {
  it.each([
    [70, 1, 70],
    [71, 2, 67],
    [134, 2, 67],
    [135, 3, 67],
  ])("%i characters need %i segment(s)", (length, segments, perSegment) => {
    expect(analyzeText("ж".repeat(length))).toEqual({
      encoding: "UCS-2",
      units: length,
      segments,
      perSegment,
    });
  });

  it("switches to UCS-2 for one character outside GSM-7", () => {
    expect(analyzeText(`${"a".repeat(100)}\``)).toMatchObject({ encoding: "UCS-2", units: 101 });
  });

  it("switches to UCS-2 for one emoji and counts it as two units", () => {
    expect(analyzeText(`Hi ${EMOJI}`)).toEqual({
      encoding: "UCS-2",
      units: 5,
      segments: 1,
      perSegment: 70,
    });
  });

  it("fits 35 emoji (70 units) in one segment", () => {
    expect(analyzeText(EMOJI.repeat(35))).toMatchObject({ units: 70, segments: 1 });
  });

  it("does not split an emoji across a segment boundary", () => {
    // Segment 1 ends after 66 units because the surrogate pair cannot be split at 67, so the
    // last character spills into a third segment.
    const straddling = `${"ж".repeat(66)}${EMOJI}${"ж".repeat(66)}`;
    expect(analyzeText(straddling)).toMatchObject({ units: 134, segments: 3 });
    const aligned = `${"ж".repeat(65)}${EMOJI}${"ж".repeat(67)}`;
    expect(analyzeText(aligned)).toMatchObject({ units: 134, segments: 2 });
  });

  it("counts GSM-7 extension characters as one unit once the message is UCS-2", () => {
    expect(analyzeText("€ж")).toMatchObject({ encoding: "UCS-2", units: 2 });
  });
});
