import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

// Strong enough for the estimator (score 3+); each test's email is its own.
const STRONG = "plum quartz mitten";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("POST /api/v1/auth/register", () => {
  it("creates a user with a lowercased email and a salted scrypt hash", async () => {
    const email = `Ada-${uniqueSuffix()}@Example.COM`;
    const res = await api.call("POST", "/api/v1/auth/register", { body: { email, password: STRONG, name: "Ada" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), email: email.toLowerCase(), name: "Ada", role: "user", createdAt: expect.any(String) });
    const [row] = await api.db.db.select().from(users).where(eq(users.id, res.body.id));
    expect(row?.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(res.body)).not.toContain("scrypt");
  });

  it("never grants admin, even when the body asks for it", async () => {
    const res = await api.call("POST", "/api/v1/auth/register", {
      body: { email: `mallory-${uniqueSuffix()}@example.com`, password: STRONG, role: "admin" },
    });
    expect(res.status).toBe(201);
    expect(res.body.role).toBe("user");
    const [row] = await api.db.db.select().from(users).where(eq(users.id, res.body.id));
    expect(row?.role).toBe("user");
  });

  it("answers 409 for a taken email in any letter case", async () => {
    const email = `bob-${uniqueSuffix()}@example.com`;
    expect((await api.call("POST", "/api/v1/auth/register", { body: { email, password: STRONG } })).status).toBe(201);
    const again = await api.call("POST", "/api/v1/auth/register", { body: { email: email.toUpperCase(), password: "another quartz lantern" } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("conflict");
  });

  it("answers 400 with field errors for a bad email or a short password", async () => {
    const res = await api.call("POST", "/api/v1/auth/register", { body: { email: "nope", password: "short" } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "password"]);
  });
});

describe("POST /api/v1/auth/register password strength", () => {
  async function register(body: Record<string, string>) {
    return api.call("POST", "/api/v1/auth/register", { body });
  }

  function passwordError(res: Awaited<ReturnType<typeof register>>) {
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: "validation_failed", detail: "The password is too easy to guess" });
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ path: "password", code: "weak_password" });
    return res.body.errors[0].detail as string;
  }

  it("refuses the commonest passwords with a field error that says why, and creates nothing", async () => {
    for (const password of ["password1", "12345678", "qwertyuiop", "P@ssw0rd!"]) {
      const email = `weak-${uniqueSuffix()}@example.com`;
      expect(passwordError(await register({ email, password }))).toMatch(/^Too easy to guess \(strength [0-2] of 4, 3 needed\)\. .*common/);
      expect(await api.db.db.select().from(users).where(eq(users.email, email))).toEqual([]);
    }
  });

  it("refuses the email itself, its local part and the name", async () => {
    const local = `grace.hopper.${uniqueSuffix()}`;
    const email = `${local}@example.com`;
    expect(passwordError(await register({ email, password: email }))).toMatch(/strength 0 of 4.*personal/);
    passwordError(await register({ email, password: `${local}!` }));
    passwordError(await register({ email: `x-${uniqueSuffix()}@example.com`, password: "Zyxwhopper1", name: "Zyxw Hopper" }));
  });

  it("accepts the README's example passphrase", async () => {
    const res = await register({ email: `readme-${uniqueSuffix()}@example.com`, password: "correct horse battery staple", name: "Ada" });
    expect(res.status).toBe(201);
  });

  it("answers /healthz promptly while judging a hostile 256-character password", async () => {
    const hostile = "1234567890".repeat(26).slice(0, 256);
    const [res, health] = await Promise.all([
      register({ email: `long-${uniqueSuffix()}@example.com`, password: hostile }),
      api.call("GET", "/healthz"),
    ]);
    expect(res.status).toBe(400);
    expect(health.status).toBe(200);
    // Unbounded, judging this took seconds of CPU on the event loop; only its first 64 characters are judged now.
    expect(health.ms).toBeLessThan(1_000);
  });
});

describe("register rate limit", () => {
  it("answers 429 with Retry-After once an IP has used its attempts", async () => {
    const limited = await startTestApi({ authRateLimit: { points: 2, durationSeconds: 60 } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const res = await limited.call("POST", "/api/v1/auth/register", { body: { email: `r-${uniqueSuffix()}@example.com`, password: STRONG } });
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
