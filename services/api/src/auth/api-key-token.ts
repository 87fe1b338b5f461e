import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const SCHEME = "ibx_";
const PREFIX_HEX = 12; // 48 random bits: unique lookup key, printable in key lists
const SECRET_BYTES = 32;
const KEY_SHAPE = /^ibx_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export type GeneratedApiKey = { key: string; prefix: string; hash: string };

/** `ibx_<12 hex prefix>_<43 base64url chars = 256 random bits>`. */
export function generateApiKey(): GeneratedApiKey {
  const prefix = randomBytes(PREFIX_HEX / 2).toString("hex");
  const key = `${SCHEME}${prefix}_${randomBytes(SECRET_BYTES).toString("base64url")}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/**
 * SHA-256, not bcrypt: the key has 256 bits of entropy, so a slow hash adds no protection
 * and would cost every API request tens of milliseconds.
 */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The lookup prefix of a well-formed key, or null (no database round trip for garbage). */
export function apiKeyPrefix(key: string): string | null {
  return KEY_SHAPE.exec(key)?.[1] ?? null;
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const actual = Buffer.from(hashApiKey(key), "hex");
  const expected = Buffer.from(storedHash, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
