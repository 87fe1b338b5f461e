import { describe, expect, it } from "vitest";
import { countSegments } from "./segments";

describe("countSegments", () => {
  it("fits 160 GSM-7 characters in one part and splits longer text into 153-septet parts", () => {
    expect(countSegments("")).toEqual({ encoding: "GSM-7", parts: 1 });
    expect(countSegments("a".repeat(160))).toEqual({ encoding: "GSM-7", parts: 1 });
    expect(countSegments("a".repeat(161))).toEqual({ encoding: "GSM-7", parts: 2 });
    expect(countSegments("a".repeat(306))).toEqual({ encoding: "GSM-7", parts: 2 });
    expect(countSegments("a".repeat(307))).toEqual({ encoding: "GSM-7", parts: 3 });
  });

  it("counts extension characters as two septets and never splits one across parts", () => {
    expect(countSegments("€".repeat(80))).toEqual({ encoding: "GSM-7", parts: 1 });
    expect(countSegments("€".repeat(81))).toEqual({ encoding: "GSM-7", parts: 2 });
    // 152 septets then a 2-septet char: it cannot straddle, so it opens part 2.
    expect(countSegments(`${"a".repeat(152)}€${"a".repeat(10)}`).parts).toBe(2);
  });

  it("switches to UCS-2 for anything outside GSM-7: 70 per part, 67 when split", () => {
    expect(countSegments("привет")).toEqual({ encoding: "UCS-2", parts: 1 });
    expect(countSegments("é".repeat(70))).toEqual({ encoding: "GSM-7", parts: 1 });
    expect(countSegments("ж".repeat(70))).toEqual({ encoding: "UCS-2", parts: 1 });
    expect(countSegments("ж".repeat(71))).toEqual({ encoding: "UCS-2", parts: 2 });
    expect(countSegments("ж".repeat(134))).toEqual({ encoding: "UCS-2", parts: 2 });
    expect(countSegments("ж".repeat(135))).toEqual({ encoding: "UCS-2", parts: 3 });
    // An emoji is two UTF-16 units.
    expect(countSegments("😀".repeat(35))).toEqual({ encoding: "UCS-2", parts: 1 });
    expect(countSegments("😀".repeat(36))).toEqual({ encoding: "UCS-2", parts: 2 });
  });
});
