import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * SMS Gate's webhook signature: lowercase hex HMAC-SHA256 keyed with the signing key over
 * the raw body bytes followed by the `X-Timestamp` value (Unix seconds, as a string).
 * Sign and verify the exact bytes on the wire: re-serialised JSON would not match.
 */
export function signWebhook(key: string, rawBody: Buffer | string, timestamp: string): string {
  return createHmac("sha256", key).update(rawBody).update(timestamp, "utf8").digest("hex");
}

export type SignatureFailure =
  | "missing_signature"
  | "malformed_signature"
  | "missing_timestamp"
  | "malformed_timestamp"
  | "stale_timestamp"
  | "mismatch";

export type VerifyWebhookSignatureInput = {
  key: string;
  rawBody: Buffer | string;
  /** The `X-Timestamp` header as received. */
  timestamp: string | null | undefined;
  /** The `X-Signature` header as received. */
  signature: string | null | undefined;
  /** Epoch milliseconds or a Date; the current time by default. */
  now?: number | Date;
  /** How far the timestamp may sit from `now`, either way; replays outside it are refused. */
  toleranceSeconds?: number;
};

export type SignatureVerdict = { ok: true } | { ok: false; reason: SignatureFailure };

const HEX_SHA256 = /^[0-9a-f]{64}$/i;
const UNIX_SECONDS = /^\d{1,12}$/;

/** Checks a webhook's signature and freshness; the comparison runs in constant time. */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): SignatureVerdict {
  const { signature, timestamp } = input;
  if (!signature) return { ok: false, reason: "missing_signature" };
  if (!HEX_SHA256.test(signature)) return { ok: false, reason: "malformed_signature" };
  if (!timestamp) return { ok: false, reason: "missing_timestamp" };
  if (!UNIX_SECONDS.test(timestamp)) return { ok: false, reason: "malformed_timestamp" };

  const tolerance = input.toleranceSeconds ?? 300;
  const now = input.now instanceof Date ? input.now.getTime() : (input.now ?? Date.now());
  if (Math.abs(now / 1000 - Number(timestamp)) > tolerance) {
    return { ok: false, reason: "stale_timestamp" };
  }

  const expected = Buffer.from(signWebhook(input.key, input.rawBody, timestamp), "hex");
  const given = Buffer.from(signature, "hex");
  // Both are 32 bytes here (the regex guarantees it); timingSafeEqual demands equal lengths.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "mismatch" };
  }
  return { ok: true };
}
