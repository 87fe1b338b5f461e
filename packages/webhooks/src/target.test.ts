import { describe, expect, it } from "vitest";
import { checkTarget, checkUrlShape, forbiddenAddressReason, guardedLookup, UnsafeTargetError } from "./target";

const strict = { allowInsecure: false, allowPrivate: false };

describe("webhook targets", () => {
  it("allows only global unicast addresses", () => {
    for (const ip of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "::1", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "224.0.0.1"]) {
      expect(forbiddenAddressReason(ip), ip).not.toBeNull();
    }
    for (const ip of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]) expect(forbiddenAddressReason(ip), ip).toBeNull();
  });

  it("refuses http unless insecure is allowed, credentials always, and private IP literals", () => {
    expect(() => checkUrlShape("http://example.com/hook", strict)).toThrow(UnsafeTargetError);
    expect(checkUrlShape("http://example.com/hook", { ...strict, allowInsecure: true }).hostname).toBe("example.com");
    expect(() => checkUrlShape("https://user:pw@example.com/", strict)).toThrow(/credentials/);
    expect(() => checkUrlShape("https://127.0.0.1/", strict)).toThrow(/loopback/);
    expect(() => checkUrlShape("https://[::1]:8443/", strict)).toThrow(/loopback/);
    expect(() => checkUrlShape("ftp://example.com/", { allowInsecure: true, allowPrivate: true })).toThrow(UnsafeTargetError);
    expect(checkUrlShape("https://127.0.0.1/", { ...strict, allowPrivate: true }).hostname).toBe("127.0.0.1");
  });

  it("refuses a name that resolves to loopback, at the check and at connect", async () => {
    await expect(checkTarget("https://localhost/hook", strict)).rejects.toThrow("localhost resolves to a non-public address (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)");
    await expect(checkTarget("https://localhost/hook", { ...strict, allowPrivate: true })).resolves.toBeInstanceOf(URL);
    const lookup = guardedLookup(strict);
    const err = await new Promise((resolve) => lookup("localhost", {}, (e) => resolve(e)));
    expect(err).toBeInstanceOf(UnsafeTargetError);
    // Neither the internal address nor the resolver's error code reaches the tenant.
    expect((err as Error).message).not.toMatch(/127\.0\.0\.1|::1|loopback/);
  });

  it("says only that a name does not resolve, not the resolver's error", async () => {
    await expect(checkTarget("https://nowhere.invalid/hook", strict)).rejects.toThrow(/^nowhere\.invalid does not resolve$/);
    const err = await new Promise((resolve) => guardedLookup(strict)("nowhere.invalid", {}, (e) => resolve(e)));
    expect((err as Error).message).toBe("nowhere.invalid does not resolve");
  });

  it("refuses IPv4-compatible IPv6 addresses (::/96) besides :: and ::1", () => {
    for (const ip of ["::7f00:1", "::a01:203", "::808:808"]) expect(forbiddenAddressReason(ip), ip).toMatch(/IPv4-compatible/);
    // A URL writes [::127.0.0.1] as [::7f00:1], and [::8.8.8.8] as [::808:808].
    expect(() => checkUrlShape("https://[::127.0.0.1]/", strict)).toThrow(/IPv4-compatible/);
    expect(() => checkUrlShape("https://[::8.8.8.8]/", strict)).toThrow(/IPv4-compatible/);
    expect(forbiddenAddressReason("::")).toMatch(/unspecified/);
    expect(forbiddenAddressReason("::1")).toMatch(/loopback/);
    expect(forbiddenAddressReason("2606:4700:4700::1111")).toBeNull();
  });
});
