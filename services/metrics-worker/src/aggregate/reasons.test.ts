import { describe, expect, it } from "vitest";
import { normaliseReason, REASON_MAX_CHARS, UNKNOWN_REASON } from "./reasons";

describe("normaliseReason", () => {
  it("keeps a gateway code as it is", () => {
    expect(normaliseReason("RESULT_ERROR_LIMIT_EXCEEDED")).toBe("RESULT_ERROR_LIMIT_EXCEEDED");
  });

  it("folds whitespace and ids, so one cause is one key", () => {
    expect(normaliseReason("  SMS Gate\n answered\t400:  bad  ")).toBe("SMS Gate answered 400: bad");
    expect(normaliseReason("message 5D0C6B1E-8F7A-4F0E-B1A4-2B9C3D4E5F60 refused")).toBe("message <id> refused");
  });

  it("keeps the first 100 characters, never half a character", () => {
    const cut = normaliseReason(`${"😀".repeat(99)}abc`);
    expect([...cut]).toHaveLength(REASON_MAX_CHARS);
    expect(cut.endsWith("😀a")).toBe(true);
  });

  it("counts a missing or blank reason as unknown", () => {
    for (const e of [null, undefined, "", " \n "]) expect(normaliseReason(e)).toBe(UNKNOWN_REASON);
  });
});
