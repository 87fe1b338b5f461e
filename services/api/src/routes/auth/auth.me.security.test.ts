import jwt from "jsonwebtoken";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "@inboxerr/db";
import { startTestApi, TEST_JWT_SECRET, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

async function expect401(headers: Record<string, string>) {
  const res = await api.call("GET", "/api/v1/auth/me", { headers });
  expect(res.status).toBe(401);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="inboxerr"/);
  expect(res.body.code).toBe("unauthorized");
  return res;
}

describe("GET /api/v1/auth/me authentication", () => {
  it("shows the caller with their role", async () => {
    const { token, user } = await api.user("admin");
    const res = await api.call("GET", "/api/v1/auth/me", { token });
    expect(res.body).toEqual({ id: user.id, email: user.email, name: user.name, role: "admin", createdAt: user.createdAt.toISOString(), authMethod: "jwt" });
  });

  it("rejects a missing, expired, tampered, foreign-secret or alg:none token with 401", async () => {
    const { user, token } = await api.user();
    await expect401({});
    await expect401({ authorization: "Basic abc" });
    const expired = jwt.sign({ iat: Math.floor(Date.now() / 1000) - 7200 }, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: 60, subject: user.id, issuer: "inboxerr" });
    expect((await expect401({ authorization: `Bearer ${expired}` })).body.detail).toMatch(/expired/);
    const [h, p, s] = token.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    const tampered = Buffer.from(JSON.stringify({ ...payload, sub: crypto.randomUUID() })).toString("base64url");
    await expect401({ authorization: `Bearer ${h}.${tampered}.${s}` });
    await expect401({ authorization: `Bearer ${jwt.sign({ sub: user.id, iss: "inboxerr" }, "some-other-secret-0123456789-0123456789")}` });
    const none = jwt.sign({ sub: user.id, iss: "inboxerr", exp: Math.floor(Date.now() / 1000) + 600 }, "", { algorithm: "none" });
    await expect401({ authorization: `Bearer ${none}` });
    const noneHeader = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    await expect401({ authorization: `Bearer ${noneHeader}.${p}.` });
  });

  it("answers 401, not 400, for a correctly signed token without exp or with a non-uuid subject", async () => {
    const { user } = await api.user();
    const noExp = jwt.sign({ sub: user.id, iss: "inboxerr" }, TEST_JWT_SECRET, { algorithm: "HS256" });
    expect((await expect401({ authorization: `Bearer ${noExp}` })).body.detail).toBe("Invalid access token: token lacks a valid `exp` claim");
    for (const sub of ["not-a-uuid", "42", `${user.id}0`]) {
      const token = jwt.sign({ sub, iss: "inboxerr" }, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: 600 });
      expect((await expect401({ authorization: `Bearer ${token}` })).body.detail).toBe("Invalid access token: token lacks a valid `sub` claim");
    }
    const future = jwt.sign({ sub: user.id, iss: "inboxerr", iat: Math.floor(Date.now() / 1000) + 3600 }, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: 600 });
    await expect401({ authorization: `Bearer ${future}` });
  });

  it("rejects the token of a deleted user", async () => {
    const { user, token } = await api.user();
    await api.db.db.delete(users).where(eq(users.id, user.id));
    await expect401({ authorization: `Bearer ${token}` });
  });
});
