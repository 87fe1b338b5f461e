import { describe, expect, it } from "vitest";
import { PhoneNormalizer } from "./phone-cache";
import { prepareRecipients } from "./prepare";

const phones = new PhoneNormalizer("US");

describe("prepareRecipients", () => {
  it("normalises numbers and renders the shared template per recipient", async () => {
    const { candidates, rejections } = await prepareRecipients(
      [
        { to: "+44 20 7946 0958", variables: { name: "Ada" } },
        { to: "(415) 555-2671", text: "own text wins" },
      ],
      "Hi {{name}}",
      phones,
    );
    expect(rejections).toEqual([]);
    expect(candidates).toEqual([
      { index: 0, to: "+442079460958", text: "Hi Ada", encoding: "GSM-7", segments: 1, customId: null },
      { index: 1, to: "+14155552671", text: "own text wins", encoding: "GSM-7", segments: 1, customId: null },
    ]);
  });

  it("rejects each bad recipient with its index and first reason", async () => {
    const { candidates, rejections } = await prepareRecipients(
      [
        { to: "not a number", text: "x" },
        { to: "+14155552671" },
        { to: "+14155552671", text: "Hi {{name}}" },
        { to: "+14155552671", text: "a".repeat(1531) },
        { to: "+14155552671", text: "ok", customId: "c1" },
        { to: "+14155552671", text: "ok", customId: "c1" },
        { to: "+14155552671", text: "é€😀".repeat(224) },
      ],
      undefined,
      phones,
    );
    expect(rejections.map((r) => [r.index, r.code])).toEqual([
      [0, "invalid_phone"],
      [1, "missing_text"],
      [2, "missing_variable"],
      [3, "text_too_long"],
      [5, "duplicate_custom_id"],
      [6, "text_too_long"],
    ]);
    expect(rejections[2]!.detail).toContain("{{name}}");
    expect(candidates.map((c) => c.index)).toEqual([4]);
  });

  it("accepts exactly 10 segments and counts UCS-2 text", async () => {
    const { candidates } = await prepareRecipients(
      [
        { to: "+14155552671", text: "a".repeat(1530) },
        { to: "+14155552671", text: "Привет" },
      ],
      undefined,
      phones,
    );
    expect(candidates.map((c) => [c.segments, c.encoding])).toEqual([
      [10, "GSM-7"],
      [1, "UCS-2"],
    ]);
  });
});
