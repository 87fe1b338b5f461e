import { describe, expect, it } from "vitest";
import { isValidRegion, normalizePhone } from "./phone.js";

describe("normalizePhone", () => {
  it.each([
    ["020 7946 0958", "GB", "+442079460958"],
    ["07400 123456", "GB", "+447400123456"],
    ["(202) 555-0143", "US", "+12025550143"],
    ["202.555.0143", "US", "+12025550143"],
    ["030 12345678", "DE", "+493012345678"],
    ["0151 23456789", "DE", "+4915123456789"],
    ["00 44 20 7946 0958", "DE", "+442079460958"],
    ["020 7946 0958", "gb", "+442079460958"],
  ])("normalises national %j with region %s", (input, region, e164) => {
    expect(normalizePhone(input, region)).toEqual({ ok: true, e164 });
  });

  it.each([
    ["+442079460958", "+442079460958"],
    ["+44 20 7946 0958", "+442079460958"],
    ["+1 (202) 555-0143", "+12025550143"],
    ["+49-30-12345678", "+493012345678"],
    ["  +4915123456789  ", "+4915123456789"],
  ])("accepts international %j without a region", (input, e164) => {
    expect(normalizePhone(input)).toEqual({ ok: true, e164 });
  });

  it("lets an international number override the default region", () => {
    expect(normalizePhone("+12025550143", "GB")).toEqual({ ok: true, e164: "+12025550143" });
  });

  it.each([
    ["", "GB", "phone number is empty"],
    ["   ", undefined, "phone number is empty"],
    ["hello", "GB", "not a phone number"],
    ["1-800-FLOWERS", "US", "not a phone number"],
    ["call +12025550143 now", undefined, "not a phone number"],
    ["123", "GB", "too short for region GB"],
    ["+441234", undefined, "too short for country code +44"],
    ["020794609581234", "GB", "too long for region GB"],
    ["0207946095", "GB", "not a valid phone number for region GB"],
    ["020 7946 0958", "US", "too long for region US"],
    // Right length, but an unassigned range (reserved for drama): only full metadata knows.
    ["07700 900123", "GB", "not a valid phone number for region GB"],
    ["+999 123456", undefined, "unknown country calling code"],
    ["+44 20 7946 0958 ext. 12", undefined, "extensions cannot receive SMS"],
    ["020 7946 0958", "XX", "unknown region XX"],
  ])("rejects %j (region %s): %s", (input, region, reason) => {
    expect(normalizePhone(input, region)).toEqual({ ok: false, reason });
  });

  it("asks for a region when a national number comes without one", () => {
    const result = normalizePhone("020 7946 0958");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/default region/);
  });
});

describe("isValidRegion", () => {
  it.each(["GB", "US", "DE", "de"])("accepts %s", (code) => {
    expect(isValidRegion(code)).toBe(true);
  });

  it.each(["", "XX", "GBR", "UK"])("rejects %j", (code) => {
    expect(isValidRegion(code)).toBe(false);
  });
});
