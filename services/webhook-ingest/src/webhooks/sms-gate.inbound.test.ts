import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { inboundMessages, messageEvents } from "@inboxerr/db";
import { normalizePhone } from "@inboxerr/sms";
import { createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { envelope, messageRow, postSigned, startIngest, type Harness } from "../testing/harness";

let h: Harness;
beforeAll(async () => {
  h = await startIngest();
});
afterAll(() => h.close());

/** A valid UK mobile number nobody else's test uses: national and E.164 forms. */
function freshNumber() {
  // Not every 07911 block is assigned; draw until libphonenumber accepts one.
  for (;;) {
    const national = `07911 ${String(randomInt(0, 1_000_000)).padStart(6, "0")}`;
    const parsed = normalizePhone(national, "GB");
    if (parsed.ok) return { national, e164: parsed.e164 };
  }
}

async function receive(from: string, text = "STOP") {
  const hook = envelope("sms:received", { messageId: "content-hash", message: text, sender: from, receivedAt: "2024-06-22T15:46:11+07:00", simNumber: 1 });
  const res = await postSigned(h.url, hook);
  expect(res.status).toBe(200);
  const [row] = await h.database.db.select().from(inboundMessages).where(eq(inboundMessages.envelopeId, hook.id));
  return row;
}

describe("sms:received attribution", () => {
  it("goes to the user whose latest message to that number reached accepted, read with DEFAULT_PHONE_REGION", async () => {
    const { national, e164 } = freshNumber();
    const [older, newer, notYet] = [await createTestUser(h.database.db), await createTestUser(h.database.db), await createTestUser(h.database.db)];
    const base = Date.now();
    await insertMessages(h.database.db, older!.id, 1, { to: e164, status: "delivered", createdAt: new Date(base - 3_000) });
    await insertMessages(h.database.db, newer!.id, 1, { to: e164, status: "sent", createdAt: new Date(base - 2_000) });
    // Newest, but the gateway never had it: a reply cannot be to it.
    await insertMessages(h.database.db, notYet!.id, 1, { to: e164, status: "queued", createdAt: new Date(base - 1_000) });

    const row = await receive(national, "Yes please");
    expect(row).toMatchObject({ userId: newer!.id, fromNumber: e164, text: "Yes please", deviceId: "device-1" });
    expect(row!.receivedAt.toISOString()).toBe("2024-06-22T08:46:11.000Z");
  });

  it("goes to the admins (user_id NULL) when nobody messaged that number", async () => {
    const row = await receive(freshNumber().e164);
    expect(row?.userId).toBeNull();
  });

  it("stores a text holding NUL (which Postgres text cannot) with a replacement character", async () => {
    const row = await receive(freshNumber().e164, "a\u0000b");
    expect(row?.text).toBe("a\uFFFDb");
  });

  it("keeps a sender that is not a phone number as the phone saw it", async () => {
    const row = await receive("INFO");
    expect(row).toMatchObject({ userId: null, fromNumber: "INFO" });
  });
});

describe("a webhook Postgres cannot store", () => {
  it("is stored cleaned when only its text is unstorable (a lone surrogate), rather than refused for days", async () => {
    const poison = JSON.stringify(envelope("sms:teleported", { note: "x" })).replace('"x"', '"\\ud800"');
    const res = await postSigned(h.url, poison);
    expect(res.status).toBe(200);
  });
  // A webhook that still reaches Postgres with a value it refuses fails alone: processor.test.ts.
});

describe("outbox when Redis is down", () => {
  it("still applies the webhook and leaves its event unpublished for the relay", async () => {
    const down = await startIngest({ redisUrl: "redis://127.0.0.1:1" });
    try {
      const user = await createTestUser(down.database.db);
      const [msg] = await insertMessages(down.database.db, user.id, 1, { status: "accepted" });
      const res = await postSigned(down.url, envelope("sms:sent", { messageId: msg!.id, sentAt: new Date().toISOString() }));
      expect(res.status).toBe(200);
      expect((await messageRow(down, msg!.id)).status).toBe("sent");
      const metrics = () => fetch(down.url.replace("/webhooks/sms-gate", "/metrics")).then((r) => r.text());
      await waitFor(async () => /inboxerr_outbox_publish_failures_total\{[^}]*\} 1/.test(await metrics()), { message: "publish failure counted" });
      const [event] = await down.database.db.select().from(messageEvents).where(eq(messageEvents.messageId, msg!.id));
      expect(event?.publishedAt).toBeNull();
    } finally {
      await down.close();
    }
  });
});

describe("when Postgres is down", () => {
  it("answers 503 problem+json promptly, so the phone retries later", async () => {
    const down = await startIngest({ databaseUrl: "postgres://postgres@127.0.0.1:1/inboxerr_test_down" });
    try {
      const started = Date.now();
      const res = await postSigned(down.url, envelope("system:ping", {}));
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: "service_unavailable" });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await down.close();
    }
  });
});

describe("ops", () => {
  it("serves /healthz, /readyz and webhook counters", async () => {
    const base = h.url.replace("/webhooks/sms-gate", "");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ready", checks: { postgres: "ok" } });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/inboxerr_webhooks_received_total\{event="sms:received",outcome="applied"[^}]*\} [1-9]/);
    // Every batch applied so far was timed, as many as were sized.
    const count = (name: string) => Number(new RegExp(`^${name}_count\\{[^}]*\\} (\\d+)$`, "m").exec(text)?.[1]);
    expect(count("inboxerr_webhook_batch_duration_seconds")).toBeGreaterThan(0);
    expect(count("inboxerr_webhook_batch_duration_seconds")).toBe(count("inboxerr_webhook_batch_size"));
    // No phone numbers or message ids in labels.
    expect(text).not.toMatch(/\+44/);
  });
});
