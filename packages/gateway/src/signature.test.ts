import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhookSignature } from "./signature";

const key = "whsec-test-key-0123";
const body = '{"id":"Ey6ECgOkVVFjz3CL48B8C","event":"sms:sent"}';
const ts = "1718000000";
// Computed independently: printf '%s%s' "$body" "$ts" | openssl dgst -sha256 -hmac "$key"
const vector = "74a91839ea3194f4c0ea4c7ea778aa4709441b1ed4d09aab5430f32a628dfbcc";
const now = Number(ts) * 1000;

describe("signWebhook", () => {
  it("matches the HMAC-SHA256 of body followed by timestamp, as lowercase hex", () => {
    expect(signWebhook(key, body, ts)).toBe(vector);
    expect(signWebhook(key, Buffer.from(body), ts)).toBe(vector);
  });
});

describe("verifyWebhookSignature", () => {
  const base = { key, rawBody: Buffer.from(body), timestamp: ts, signature: vector, now };

  it("accepts the known vector, in either hex case, within the tolerance", () => {
    expect(verifyWebhookSignature(base)).toEqual({ ok: true });
    expect(verifyWebhookSignature({ ...base, signature: vector.toUpperCase() })).toEqual({ ok: true });
    expect(verifyWebhookSignature({ ...base, now: new Date(now + 299_000) })).toEqual({ ok: true });
    expect(verifyWebhookSignature({ ...base, now: now - 299_000 })).toEqual({ ok: true });
  });

  it("rejects a body changed by one byte", () => {
    const tampered = Buffer.from(body.replace("sms:sent", "sms:sEnt"));
    expect(verifyWebhookSignature({ ...base, rawBody: tampered })).toEqual({ ok: false, reason: "mismatch" });
  });

  it("rejects a signature made with another key or for another timestamp", () => {
    expect(verifyWebhookSignature({ ...base, key: "another-key-000000" })).toEqual({ ok: false, reason: "mismatch" });
    const otherTs = String(Number(ts) + 1);
    expect(verifyWebhookSignature({ ...base, timestamp: otherTs })).toEqual({ ok: false, reason: "mismatch" });
  });

  it("rejects timestamps more than 300 s away, either way", () => {
    expect(verifyWebhookSignature({ ...base, now: now + 301_000 })).toEqual({ ok: false, reason: "stale_timestamp" });
    expect(verifyWebhookSignature({ ...base, now: now - 301_000 })).toEqual({ ok: false, reason: "stale_timestamp" });
    expect(verifyWebhookSignature({ ...base, now: now + 301_000, toleranceSeconds: 600 })).toEqual({ ok: true });
  });

  it("rejects missing, non-hex and wrong-length signatures", () => {
    expect(verifyWebhookSignature({ ...base, signature: undefined })).toEqual({ ok: false, reason: "missing_signature" });
    expect(verifyWebhookSignature({ ...base, signature: "z".repeat(64) })).toEqual({ ok: false, reason: "malformed_signature" });
    expect(verifyWebhookSignature({ ...base, signature: vector.slice(2) })).toEqual({ ok: false, reason: "malformed_signature" });
    expect(verifyWebhookSignature({ ...base, signature: `${vector}00` })).toEqual({ ok: false, reason: "malformed_signature" });
  });

  it("rejects missing and non-integer timestamps", () => {
    expect(verifyWebhookSignature({ ...base, timestamp: null })).toEqual({ ok: false, reason: "missing_timestamp" });
    for (const bad of ["1718000000.5", "-1718000000", "1e9", " 1718000000", "abc"]) {
      expect(verifyWebhookSignature({ ...base, timestamp: bad })).toEqual({ ok: false, reason: "malformed_timestamp" });
    }
  });
});
