import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./testing/harness";

// Issue #13: each of these was a 500 found by fuzzing; each is a 4xx problem+json now.
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const isProblem = (res: { headers: Headers }) => expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);

/** Every POST the api documents, path parameters filled with a well-formed id. */
function postPaths(): string[] {
  const paths = Object.entries(api.openapi.paths ?? {}) as [string, Record<string, unknown>][];
  return paths.filter(([, ops]) => "post" in ops).map(([path]) => path.replace(/\{\w+\}/g, "0b6f3a0e-6d2c-4b9e-9a51-3d8f7c1e2a40"));
}

describe("malformed requests", () => {
  it("answers a bad percent-encoding in a path with 400, without authentication", async () => {
    const res = await api.call("GET", "/api/v1/batches/%ZZ");
    expect(res.status).toBe(400);
    isProblem(res);
    expect(res.body).toMatchObject({ code: "bad_request", detail: expect.stringContaining("percent-encoding") });
  });

  it.for(["gzip", "deflate", "br"])("answers a body claiming content-encoding %s with 415 on every POST", async (encoding) => {
    const { token } = await api.user();
    const paths = postPaths();
    expect(paths).toContain("/api/v1/messages/bulk");
    for (const path of paths) {
      const res = await api.call("POST", path, { token, raw: '{"to":"+14155552671","text":"hi"}', headers: { "content-type": "application/json", "content-encoding": encoding } });
      expect({ path, status: res.status }).toEqual({ path, status: 415 });
      isProblem(res);
      expect(res.body.code).toBe("unsupported_media_type");
    }
  });

  it("refuses a body that really is gzipped the same way (compressed bodies are not inflated)", async () => {
    const { token } = await api.user();
    const res = await fetch(`${api.base}/api/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(JSON.stringify({ to: "+14155552671", text: "hi" })),
    });
    expect(res.status).toBe(415);
  });

  it("answers more than 20 form fields on /auth/token with 413 (1,001 were a 500)", async () => {
    const form = Array.from({ length: 1_001 }, (_, i) => `f${i}=x`).join("&");
    const res = await api.call("POST", "/api/v1/auth/token", { raw: form, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(413);
    isProblem(res);
    expect(res.body.code).toBe("payload_too_large");
  });

  it("answers JSON nested 5,000 deep with 400, idempotency key and all", async () => {
    const { token } = await api.user();
    const deep = `{"text":"hi","messages":[{"to":"+14155552671","variables":${"[".repeat(5_000)}${"]".repeat(5_000)}}]}`;
    for (const path of ["/api/v1/messages/bulk", "/api/v1/messages"]) {
      const res = await api.call("POST", path, { token, raw: deep, headers: { "content-type": "application/json", "idempotency-key": `deep-${path}` } });
      expect(res.status).toBe(400);
      isProblem(res);
      expect(res.body).toMatchObject({ code: "validation_failed", detail: expect.stringContaining("nested deeper") });
    }
  });
});

describe("security headers", () => {
  it("are on every answer: JSON, problem and ops", async () => {
    for (const path of ["/healthz", "/metrics", "/openapi.json", "/api/v1/nowhere"]) {
      const res = await fetch(api.base + path);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      // Plain HTTP with TRUST_PROXY off: no HSTS.
      expect(res.headers.get("strict-transport-security")).toBeNull();
    }
  });

  it("let /docs load: its HTML names only same-origin scripts and styles, and they are served", async () => {
    const res = await fetch(`${api.base}/docs/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
    const html = await res.text();
    // No inline <script> (the CSP forbids it); every asset it loads is relative (same origin).
    expect(html).not.toMatch(/<script>[^<]/);
    const assets = [...html.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1]!).filter((u) => !u.startsWith("#"));
    expect(assets).toEqual(expect.arrayContaining(["./swagger-ui-bundle.js", "./swagger-ui-init.js", "./swagger-ui.css"]));
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//);
      expect((await fetch(new URL(asset, `${api.base}/docs/`))).status).toBe(200);
    }
  });
});

describe("security headers behind a TLS-terminating proxy", () => {
  let proxied: TestApi;
  beforeAll(async () => {
    proxied = await startTestApi({ config: { TRUST_PROXY: true } });
  });
  afterAll(() => proxied.stop());

  it("add HSTS when the request came over https, and only then", async () => {
    const https = await fetch(`${proxied.base}/healthz`, { headers: { "x-forwarded-proto": "https" } });
    expect(https.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
    const http = await fetch(`${proxied.base}/healthz`, { headers: { "x-forwarded-proto": "http" } });
    expect(http.headers.get("strict-transport-security")).toBeNull();
  });
});
