import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../test/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("POST /api/v1/auth/register", () => {
  it("creates a user with a lowercased email and a salted scrypt hash", async () => {
    const email = `Ada-${uniqueSuffix()}@Example.COM`;
    const res = await api.call("POST", "/api/v1/auth/register", { body: { email, password: "long enough pw", name: "Ada" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), email: email.toLowerCase(), name: "Ada", role: "user", createdAt: expect.any(String) });
    const [row] = await api.db.db.select().from(users).where(eq(users.id, res.body.id));
    expect(row?.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(res.body)).not.toContain("scrypt");
  });

  it("never grants admin, even when the body asks for it", async () => {
    const res = await api.call("POST", "/api/v1/auth/register", {
      body: { email: `mallory-${uniqueSuffix()}@example.com`, password: "long enough pw", role: "admin" },
    });
    expect(res.status).toBe(201);
    expect(res.body.role).toBe("user");
    const [row] = await api.db.db.select().from(users).where(eq(users.id, res.body.id));
    expect(row?.role).toBe("user");
  });

  it("answers 409 for a taken email in any letter case", async () => {
    const email = `bob-${uniqueSuffix()}@example.com`;
    expect((await api.call("POST", "/api/v1/auth/register", { body: { email, password: "long enough pw" } })).status).toBe(201);
    const again = await api.call("POST", "/api/v1/auth/register", { body: { email: email.toUpperCase(), password: "other password" } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("conflict");
  });

  it("answers 400 with field errors for a bad email or a short password", async () => {
    const res = await api.call("POST", "/api/v1/auth/register", { body: { email: "nope", password: "short" } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "password"]);
  });
});

describe("register rate limit", () => {
  it("answers 429 with Retry-After once an IP has used its attempts", async () => {
    const limited = await startTestApi({ authRateLimit: { points: 2, durationSeconds: 60 } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const res = await limited.call("POST", "/api/v1/auth/register", { body: { email: `r-${uniqueSuffix()}@example.com`, password: "long enough pw" } });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
          expect(res.body.code).toBe("rate_limited");
        }
      }
      expect(statuses).toEqual([201, 201, 429]);
    } finally {
      await limited.stop();
    }
  });
});
