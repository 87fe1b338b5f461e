import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { signAccessToken, verifyAccessToken } from "./jwt";

const secret = "test-secret-0123456789-0123456789-abcdef";
const userId = "0b6f3a0e-6d2c-4b9e-9a51-3d8f7c1e2a40";

describe("access tokens", () => {
  it("round-trips the user id", () => {
    expect(verifyAccessToken(signAccessToken(userId, secret, 60), secret)).toEqual({ ok: true, userId });
  });

  it("rejects an expired token", () => {
    const token = jwt.sign({ iat: Math.floor(Date.now() / 1000) - 120 }, secret, { algorithm: "HS256", expiresIn: 60, subject: userId, issuer: "inboxerr" });
    expect(verifyAccessToken(token, secret)).toEqual({ ok: false, reason: "token expired" });
  });

  it("rejects a tampered payload and a foreign secret", () => {
    const [h, , s] = signAccessToken(userId, secret, 60).split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "someone-else", iss: "inboxerr", exp: 9e9 })).toString("base64url");
    expect(verifyAccessToken(`${h}.${forged}.${s}`, secret).ok).toBe(false);
    expect(verifyAccessToken(signAccessToken(userId, "another-secret-0123456789-0123456789", 60), secret).ok).toBe(false);
  });

  it("rejects alg none and other algorithms", () => {
    const none = jwt.sign({ sub: userId, iss: "inboxerr" }, "", { algorithm: "none" });
    expect(verifyAccessToken(none, secret).ok).toBe(false);
    const hs512 = jwt.sign({}, secret, { algorithm: "HS512", subject: userId, issuer: "inboxerr", expiresIn: 60 });
    expect(verifyAccessToken(hs512, secret).ok).toBe(false);
  });

  it("rejects a token without exp, without iat, issued in the future or not yet valid", () => {
    const now = Math.floor(Date.now() / 1000);
    const noExp = jwt.sign({ sub: userId, iss: "inboxerr" }, secret, { algorithm: "HS256" });
    expect(verifyAccessToken(noExp, secret)).toEqual({ ok: false, reason: "token lacks a valid `exp` claim" });
    const noIat = jwt.sign({ sub: userId, iss: "inboxerr", exp: now + 60 }, secret, { algorithm: "HS256", noTimestamp: true });
    expect(verifyAccessToken(noIat, secret)).toEqual({ ok: false, reason: "token lacks a valid `iat` claim" });
    const future = jwt.sign({ sub: userId, iss: "inboxerr", iat: now + 3600, exp: now + 7200 }, secret, { algorithm: "HS256" });
    expect(verifyAccessToken(future, secret)).toEqual({ ok: false, reason: "token issued in the future" });
    const notYet = jwt.sign({ sub: userId, iss: "inboxerr" }, secret, { algorithm: "HS256", expiresIn: 600, notBefore: 300 });
    expect(verifyAccessToken(notYet, secret)).toEqual({ ok: false, reason: "token not yet valid" });
  });

  it("rejects a subject that is not a uuid", () => {
    for (const sub of ["not-a-uuid", "1", `${userId}x`, "' or 1=1 --"]) {
      expect(verifyAccessToken(signAccessToken(sub, secret, 60), secret)).toEqual({ ok: false, reason: "token lacks a valid `sub` claim" });
    }
  });
});
