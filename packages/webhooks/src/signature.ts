import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

// The Standard Webhooks signature (standardwebhooks.com): `v1,` + base64 HMAC-SHA256, keyed with
// the secret's base64 part, over `${id}.${timestamp}.${body}`. Several space-separated while a
// rotated secret is still valid. Verified against the `standardwebhooks` package in its test.

const PREFIX = "whsec_";

/** A new endpoint secret, `whsec_` + 32 random bytes in base64: shown to the customer once. */
export function generateWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");
}

/** One `v1,<base64>` signature of the body under one secret. */
export function signature(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`;
}

export type SignedHeaders = { "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string };

/** The three Standard Webhooks headers of one attempt, signed with every secret given. */
export function signedHeaders(secrets: readonly string[], id: string, timestampSeconds: number, body: string): SignedHeaders {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets.map((s) => signature(s, id, timestampSeconds, body)).join(" "),
  };
}

/** True when any `v1` signature in the header matches under `secret` (for our own tests and tools). */
export function verifySignature(secret: string, id: string, timestampSeconds: number, body: string, header: string): boolean {
  const expected = Buffer.from(signature(secret, id, timestampSeconds, body));
  return header.split(" ").some((candidate) => {
    const got = Buffer.from(candidate);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
