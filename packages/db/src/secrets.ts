import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Gateway secrets at rest (ADR 0017): AES-256-GCM under SECRETS_KEY, stored as
 * `v1:<iv>:<ciphertext+tag>` (base64url). The version names the key, so a second key can be
 * introduced later and old values read with the first. The column name is bound in as
 * associated data: a sealed password pasted into another column does not open there.
 */
const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type SecretsKey = { readonly version: typeof VERSION; readonly key: Buffer };

/** Thrown when a value cannot be opened: wrong key, tampered, or not a sealed value at all. */
export class SecretError extends Error {
  override name = "SecretError";
}

/** Parses SECRETS_KEY: 32 bytes, base64 (standard or url-safe). */
export function parseSecretsKey(base64: string): SecretsKey {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32) throw new SecretError(`SECRETS_KEY must be 32 bytes of base64 (got ${key.length} bytes)`);
  return { version: VERSION, key };
}

/** Encrypts `plaintext` for column `column` (e.g. "gateway_accounts.password"). */
export function sealSecret(secrets: SecretsKey, column: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", secrets.key, iv);
  cipher.setAAD(Buffer.from(column));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${secrets.version}:${iv.toString("base64url")}:${body.toString("base64url")}`;
}

/** Decrypts a value sealed by sealSecret for the same column; throws SecretError otherwise. */
export function openSecret(secrets: SecretsKey, column: string, sealed: string): string {
  const [version, iv64, body64, ...rest] = sealed.split(":");
  if (version !== secrets.version || !iv64 || !body64 || rest.length > 0) {
    throw new SecretError(`not a ${secrets.version} sealed secret`);
  }
  const iv = Buffer.from(iv64, "base64url");
  const body = Buffer.from(body64, "base64url");
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new SecretError("malformed sealed secret");
  try {
    const decipher = createDecipheriv("aes-256-gcm", secrets.key, iv);
    decipher.setAAD(Buffer.from(column));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    // GCM's own message ("Unsupported state or unable to authenticate data") says nothing useful.
    throw new SecretError("sealed secret does not open with this key (wrong SECRETS_KEY, or tampered)");
  }
}
