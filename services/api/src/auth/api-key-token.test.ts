import { describe, expect, it } from "vitest";
import { apiKeyMatches, apiKeyPrefix, generateApiKey, hashApiKey } from "./api-key-token";

describe("API key tokens", () => {
  it("generates a high-entropy key whose prefix and hash identify it", () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^ibx_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyPrefix(key)).toBe(prefix);
    expect(hash).toBe(hashApiKey(key));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(apiKeyMatches(key, hash)).toBe(true);
  });

  it("never matches another key or a malformed one", () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(apiKeyMatches(b.key, a.hash)).toBe(false);
    expect(apiKeyPrefix("ibx_short")).toBeNull();
    expect(apiKeyPrefix(`${a.key}x`)).toBeNull();
  });
});
