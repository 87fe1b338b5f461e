import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openSecret, parseSecretsKey, sealSecret, SecretError } from "./secrets";

const newKey = () => parseSecretsKey(randomBytes(32).toString("base64"));
const COLUMN = "gateway_accounts.password";

describe("secrets at rest", () => {
  it("round-trips, with a fresh IV each time so equal secrets look different", () => {
    const key = newKey();
    const a = sealSecret(key, COLUMN, "hunter2 ✓");
    const b = sealSecret(key, COLUMN, "hunter2 ✓");
    expect(a).toMatch(/^v1:[\w-]+:[\w-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("hunter2");
    expect(openSecret(key, COLUMN, a)).toBe("hunter2 ✓");
    expect(openSecret(key, COLUMN, b)).toBe("hunter2 ✓");
  });

  it("refuses a tampered value, a wrong key, another column and a foreign format", () => {
    const key = newKey();
    const sealed = sealSecret(key, COLUMN, "secret");
    const [v, iv, body] = sealed.split(":") as [string, string, string];
    const bytes = Buffer.from(body, "base64url");
    bytes[0]! ^= 1;
    expect(() => openSecret(key, COLUMN, `${v}:${iv}:${bytes.toString("base64url")}`)).toThrow(SecretError);
    expect(() => openSecret(newKey(), COLUMN, sealed)).toThrow(/wrong SECRETS_KEY, or tampered/);
    expect(() => openSecret(key, "gateway_accounts.webhook_signing_key", sealed)).toThrow(SecretError);
    expect(() => openSecret(key, COLUMN, "plain-text-password")).toThrow(/not a v1 sealed secret/);
    expect(() => openSecret(key, COLUMN, `v2:${iv}:${body}`)).toThrow(SecretError);
  });

  it("accepts only a 32-byte key", () => {
    expect(() => parseSecretsKey(randomBytes(16).toString("base64"))).toThrow(/32 bytes/);
    expect(() => parseSecretsKey("not base64 at all")).toThrow(/32 bytes/);
    expect(parseSecretsKey(randomBytes(32).toString("base64url")).key).toHaveLength(32);
  });
});
