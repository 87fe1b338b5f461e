import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

async function registered() {
  const email = `t-${uniqueSuffix()}@example.com`;
  const password = "correct horse battery";
  await api.call("POST", "/api/v1/auth/register", { body: { email, password } });
  return { email, password };
}

describe("POST /api/v1/auth/token", () => {
  it("issues a bearer token that authenticates /auth/me", async () => {
    const { email, password } = await registered();
    const res = await api.call("POST", "/api/v1/auth/token", { body: { email: email.toUpperCase(), password } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600 });
    expect(res.headers.get("cache-control")).toBe("no-store");
    const me = await api.call("GET", "/api/v1/auth/me", { token: res.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email, role: "user", authMethod: "jwt" });
  });

  it("accepts the OAuth password-grant form", async () => {
    const { email, password } = await registered();
    const form = new URLSearchParams({ grant_type: "password", username: email, password }).toString();
    const res = await api.call("POST", "/api/v1/auth/token", { raw: form, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe("Bearer");
  });

  it("answers 401 for a wrong password or an unknown email, alike", async () => {
    const { email } = await registered();
    const wrong = await api.call("POST", "/api/v1/auth/token", { body: { email, password: "wrong password" } });
    const unknown = await api.call("POST", "/api/v1/auth/token", { body: { email: `nobody-${uniqueSuffix()}@example.com`, password: "whatever" } });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: "unauthorized", detail: "Invalid email or password" });
    }
  });
});

describe("login rate limit", () => {
  it("answers 429 with Retry-After after N attempts from one IP, right password or not", async () => {
    const limited = await startTestApi({ authRateLimit: { points: 3, durationSeconds: 60 } });
    try {
      const { email, password } = await registered();
      const statuses = [];
      for (const pw of ["bad-1", "bad-2", password, password]) {
        const res = await limited.call("POST", "/api/v1/auth/token", { body: { email, password: pw } });
        statuses.push(res.status);
        if (res.status === 429) {
          const retryAfter = Number(res.headers.get("retry-after"));
          expect(retryAfter).toBeGreaterThan(0);
          expect(retryAfter).toBeLessThanOrEqual(60);
          expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        }
      }
      expect(statuses).toEqual([401, 401, 200, 429]);
    } finally {
      await limited.stop();
    }
  });
});

describe("login limit per account", () => {
  const login = (app: TestApi, email: string, password: string) => app.call("POST", "/api/v1/auth/token", { body: { email, password } });

  function expectBlocked(res: Awaited<ReturnType<typeof login>>, windowSeconds: number) {
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
    expect(res.body).toMatchObject({ code: "rate_limited", detail: "Too many failed logins for this email; retry later" });
  }

  it("answers 429 after N failures for an email, even to the right password, and alike for an unknown email", async () => {
    const limited = await startTestApi({ loginAccountLimit: { points: 3, durationSeconds: 900 } });
    try {
      const { email, password } = await registered();
      const unknown = `nobody-${uniqueSuffix()}@example.com`;
      for (const who of [email, unknown]) {
        for (let i = 0; i < 3; i++) expect((await login(limited, who, `wrong-${i}`)).status).toBe(401);
      }
      const known = await login(limited, email.toUpperCase(), password);
      const stranger = await login(limited, unknown, password);
      expectBlocked(known, 900);
      expectBlocked(stranger, 900);
      const shape = (res: typeof known) => ({ ...res.body, instance: undefined, retryAfter: res.headers.has("retry-after") });
      expect(shape(stranger)).toEqual(shape(known));
      // The limit is the account's, not the IP's: another account from the same client still logs in.
      const other = await registered();
      expect((await login(limited, other.email, other.password)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it("clears an account's failures when it logs in successfully", async () => {
    const limited = await startTestApi({ loginAccountLimit: { points: 3, durationSeconds: 900 } });
    try {
      const { email, password } = await registered();
      const statuses = [];
      for (const pw of ["bad-1", "bad-2", password, "bad-3", "bad-4", "bad-5", password]) statuses.push((await login(limited, email, pw)).status);
      expect(statuses).toEqual([401, 401, 200, 401, 401, 401, 429]);
    } finally {
      await limited.stop();
    }
  });

  it("is shared by two api instances on the same Redis", async () => {
    const first = await startTestApi({ loginAccountLimit: { points: 4, durationSeconds: 900 } });
    const second = await startTestApi({ config: { QUEUE_PREFIX: first.config.QUEUE_PREFIX }, loginAccountLimit: { points: 4, durationSeconds: 900 } });
    try {
      const { email, password } = await registered();
      for (const app of [first, second, first, second]) expect((await login(app, email, "wrong")).status).toBe(401);
      expectBlocked(await login(first, email, password), 900);
      expectBlocked(await login(second, email, password), 900);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});
