import { describe, expect, it } from "vitest";
import { isPreTransmissionFailure } from "./failure-reasons";

describe("isPreTransmissionFailure", () => {
  it("knows the reasons that happen before the radio transmits", () => {
    expect(isPreTransmissionFailure("RESULT_ERROR_LIMIT_EXCEEDED")).toBe(true);
    expect(isPreTransmissionFailure("Failed: RESULT_ERROR_NO_SERVICE")).toBe(true);
    expect(isPreTransmissionFailure("RESULT_ERROR_RADIO_OFF")).toBe(true);
    expect(isPreTransmissionFailure("RESULT_ERROR_NULL_PDU")).toBe(true);
  });

  it("treats every other reason, and a code inside a longer word, as final", () => {
    expect(isPreTransmissionFailure("RESULT_ERROR_GENERIC_FAILURE")).toBe(false);
    expect(isPreTransmissionFailure("TTL expired")).toBe(false);
    expect(isPreTransmissionFailure("XRESULT_ERROR_NO_SERVICE")).toBe(false);
    expect(isPreTransmissionFailure("RESULT_ERROR_NO_SERVICE_X")).toBe(false);
    expect(isPreTransmissionFailure(null)).toBe(false);
    expect(isPreTransmissionFailure("")).toBe(false);
  });
});
