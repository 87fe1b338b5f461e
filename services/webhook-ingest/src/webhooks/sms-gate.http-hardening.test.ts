import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelope, SIGNING_KEY, startIngest, type Harness } from "../testing/harness";
import { signWebhook } from "@inboxerr/gateway";

// Issue #13: a body declaring a content-encoding it does not have was a 500. Compressed bodies
// are refused (415) before the signature is checked: the signature covers the bytes on the wire.
let h: Harness;
beforeAll(async () => {
  h = await startIngest();
});
afterAll(() => h.close());

describe("POST /webhooks/sms-gate: content encoding", () => {
  it.for(["gzip", "deflate", "br"])("answers an unsigned body claiming %s with 415 problem+json, not 500 or 401", async (encoding) => {
    const res = await fetch(h.url, { method: "POST", headers: { "content-type": "application/json", "content-encoding": encoding }, body: '{"id":"x"}' });
    expect(res.status).toBe(415);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: "unsupported_media_type" });
  });

  it("refuses a signed, really gzipped webhook with 415 too", async () => {
    const body = JSON.stringify(envelope("system:ping", {}));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await fetch(h.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "x-timestamp": timestamp,
        "x-signature": signWebhook(SIGNING_KEY, Buffer.from(body), timestamp),
      },
      body: gzipSync(body),
    });
    expect(res.status).toBe(415);
  });
});

describe("security headers", () => {
  it("are on the webhook answer and the ops routes", async () => {
    const origin = new URL(h.url).origin;
    const answers = [
      await fetch(h.url, { method: "POST", body: "{}" }),
      await fetch(`${origin}/healthz`),
      await fetch(`${origin}/metrics`),
    ];
    for (const res of answers) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    }
  });
});
