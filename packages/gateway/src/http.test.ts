import { describe, expect, it } from "vitest";
import { cleanGatewayText, errorReason, parseRetryAfter } from "./http";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads delay-seconds", () => {
    expect(parseRetryAfter("1", now)).toBe(1000);
    expect(parseRetryAfter(" 120 ", now)).toBe(120_000);
    expect(parseRetryAfter("0", now)).toBe(0);
  });

  it("reads an HTTP-date relative to now, never negative", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
  });

  it("returns null for absent or garbage values", () => {
    for (const v of [null, undefined, "", "soon", "-5", "1.5"]) expect(parseRetryAfter(v, now)).toBeNull();
  });
});

describe("errorReason", () => {
  it("prefers the JSON message, then the error code, then raw text, then the status", () => {
    expect(errorReason(409, '{"message":"duplicate id"}')).toBe("duplicate id");
    expect(errorReason(503, '{"error":"QueueLimitExceeded"}')).toBe("QueueLimitExceeded");
    expect(errorReason(502, "Bad Gateway\n")).toBe("Bad Gateway");
    expect(errorReason(500, "")).toBe("HTTP 500");
    expect(errorReason(500, "{}")).toBe("HTTP 500");
  });

  it("truncates very long bodies", () => {
    expect(errorReason(500, "x".repeat(5000)).length).toBeLessThanOrEqual(501);
  });
});

describe("cleanGatewayText", () => {
  it("strips NUL and replaces unpaired surrogates, keeping real pairs", () => {
    expect(cleanGatewayText("a\u0000b")).toBe("ab");
    expect(cleanGatewayText("x\ud83d y \ude00")).toBe("x\ufffd y \ufffd");
    expect(cleanGatewayText("ok 😀")).toBe("ok 😀");
  });

  it("truncates without leaving half a surrogate pair behind", () => {
    const cut = cleanGatewayText(`${"a".repeat(9)}😀`, 10);
    expect(cut).toBe(`${"a".repeat(9)}\ufffd…`);
    expect(cleanGatewayText("y".repeat(800))).toBe(`${"y".repeat(500)}…`);
  });
});
