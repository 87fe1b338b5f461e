import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageEventJob } from "@inboxerr/contracts";
import { createTestUser, insertMessages, queuedEvents, waitFor } from "@inboxerr/testing";
import { envelope, eventsOf, messageRow, postSigned, startIngest, storedEnvelopes, type Harness } from "../testing/harness";

let h: Harness;
let userId: string;

beforeAll(async () => {
  h = await startIngest();
  userId = (await createTestUser(h.database.db)).id;
});
afterAll(() => h.close());

const accepted = async (n = 1, over: Parameters<typeof insertMessages>[3] = {}) =>
  insertMessages(h.database.db, userId, n, { status: "accepted", acceptedAt: new Date(), ...over });

describe("POST /webhooks/sms-gate: signature", () => {
  it("applies a webhook signed as SMS Gate signs it, storing the phone's time in UTC and publishing the event", async () => {
    const [msg] = await accepted();
    const hook = envelope("sms:sent", { messageId: msg!.id, recipient: msg!.to, sentAt: "2024-06-22T15:46:11.000+07:00", partsCount: 1 });
    const res = await postSigned(h.url, hook);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "applied" });
    expect(res.headers.get("etag")).toBeNull();

    const row = await messageRow(h, msg!.id);
    expect(row.status).toBe("sent");
    expect(row.sentAt?.toISOString()).toBe("2024-06-22T08:46:11.000Z");
    expect(row.partsExpected).toBe(1);
    expect(await storedEnvelopes(h, [hook.id])).toEqual([expect.objectContaining({ event: "sms:sent", messageId: msg!.id, deviceId: "device-1" })]);

    const [event] = await eventsOf(h, msg!.id);
    // Metrics bucket by server time, never the phone's clock.
    expect(Math.abs(event!.occurredAt.getTime() - Date.now())).toBeLessThan(60_000);
    await waitFor(async () => (await eventsOf(h, msg!.id))[0]?.publishedAt, { message: "outbox row marked published" });
    for (const queue of h.queues) {
      const queued = (await queuedEvents<MessageEventJob>(queue)).find((e) => e.eventId === event!.id);
      expect(queued).toMatchObject({ eventId: event!.id, messageId: msg!.id, userId, status: "sent" });
    }
  });

  const nowSeconds = () => Math.floor(Date.now() / 1000);
  it.each([
    ["a wrong key", () => ({ key: "another-key-entirely-0000" })],
    ["a timestamp 301 s old", () => ({ timestamp: nowSeconds() - 301 })],
    ["a timestamp 301 s ahead", () => ({ timestamp: nowSeconds() + 301 })],
    ["one body byte changed after signing", () => ({ rawAfterSigning: (raw: string) => raw.replace("sms:sent", "sms:sent ") })],
  ])("refuses %s with 401 problem+json and writes nothing", async (_name, tamper) => {
    const [msg] = await accepted();
    const hook = envelope("sms:sent", { messageId: msg!.id, sentAt: new Date().toISOString() });
    const res = await postSigned(h.url, hook, tamper());
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 401, code: "invalid_signature" });
    expect(await storedEnvelopes(h, [hook.id])).toEqual([]);
    expect((await messageRow(h, msg!.id)).status).toBe("accepted");
  });

  it("accepts a phone clock up to 300 s off, either way", async () => {
    for (const skew of [-290, 290]) {
      const [msg] = await accepted();
      const res = await postSigned(h.url, envelope("sms:sent", { messageId: msg!.id, sentAt: new Date().toISOString() }), {
        timestamp: nowSeconds() + skew,
      });
      expect(res.status).toBe(200);
    }
  });

  it("refuses a body over 256 kB with 413 before reading further", async () => {
    const hook = envelope("sms:teleported", { pad: "x".repeat(300 * 1024) });
    const res = await postSigned(h.url, hook);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
    expect(await storedEnvelopes(h, [hook.id])).toEqual([]);
  });

  it("refuses a request without signature headers", async () => {
    const res = await fetch(h.url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
  });
});

describe("POST /webhooks/sms-gate: bodies", () => {
  it("answers malformed JSON and a known event missing its fields with 400, writing nothing", async () => {
    const [msg] = await accepted();
    const bad = await postSigned(h.url, '{"id": "x", "event": "sms:sent", ');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "malformed_json" });

    const hook = envelope("sms:sent", { messageId: msg!.id }); // no sentAt
    const invalid = await postSigned(h.url, hook);
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: "validation_failed", errors: [expect.objectContaining({ path: "payload.sentAt" })] });
    expect(await storedEnvelopes(h, [hook.id])).toEqual([]);
    expect((await messageRow(h, msg!.id)).status).toBe("accepted");
  });

  it("stores and acknowledges reports for message ids we never issued", async () => {
    const foreign = envelope("sms:delivered", { messageId: "zXDYfTmTVf3iMd16zzdBj", deliveredAt: new Date().toISOString() });
    const unknownUuid = envelope("sms:failed", { messageId: randomUUID(), failedAt: new Date().toISOString(), reason: "x" });
    for (const hook of [foreign, unknownUuid]) {
      const res = await postSigned(h.url, hook);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ignored" });
    }
    const stored = await storedEnvelopes(h, [foreign.id, unknownUuid.id]);
    expect(stored.map((s) => s.messageId).sort()).toEqual([foreign.payload.messageId, unknownUuid.payload.messageId].sort());
  });

  it("stores and acknowledges unknown events and pings", async () => {
    const future = envelope("sms:teleported", { anything: true });
    const ping = envelope("system:ping", { health: { status: "pass" } });
    for (const hook of [future, ping]) {
      const res = await postSigned(h.url, hook);
      expect(res.status).toBe(200);
    }
    expect(await storedEnvelopes(h, [future.id, ping.id])).toHaveLength(2);
  });
});

describe("POST /webhooks/sms-gate: applying reports", () => {
  it("counts the same envelope once, even when it arrives five times at once", async () => {
    const [msg] = await accepted();
    const hook = envelope("sms:sent", { messageId: msg!.id, sentAt: new Date().toISOString() });
    const answers = await Promise.all(Array.from({ length: 5 }, () => postSigned(h.url, hook).then((r) => r.json() as Promise<{ status: string }>)));
    expect(answers.filter((a) => a.status === "applied")).toHaveLength(1);
    expect(answers.filter((a) => a.status === "duplicate")).toHaveLength(4);
    expect(await (await postSigned(h.url, hook)).json()).toEqual({ status: "duplicate" });
    expect(await storedEnvelopes(h, [hook.id])).toHaveLength(1);
    expect(await eventsOf(h, msg!.id)).toHaveLength(1);
  });

  it("does not move a delivered message back when a late sms:sent arrives", async () => {
    const [msg] = await accepted();
    await postSigned(h.url, envelope("sms:delivered", { messageId: msg!.id, deliveredAt: "2024-06-22T10:00:05+02:00" }));
    expect((await messageRow(h, msg!.id)).status).toBe("delivered");
    const late = await postSigned(h.url, envelope("sms:sent", { messageId: msg!.id, sentAt: "2024-06-22T10:00:01+02:00", partsCount: 1 }));
    expect(await late.json()).toEqual({ status: "ignored" });
    const row = await messageRow(h, msg!.id);
    expect(row.status).toBe("delivered");
    expect(row.deliveredAt?.toISOString()).toBe("2024-06-22T08:00:05.000Z");
    expect(row.sentAt).toBeNull();
    expect((await eventsOf(h, msg!.id)).map((e) => e.status)).toEqual(["delivered"]);
  });

  it("delivers a two-part message only after both parts report", async () => {
    const [msg] = await accepted(1, { segments: 1 });
    const at = new Date().toISOString();
    await postSigned(h.url, envelope("sms:sent", { messageId: msg!.id, sentAt: at, partsCount: 2 }));
    await postSigned(h.url, envelope("sms:delivered", { messageId: msg!.id, deliveredAt: at }));
    let row = await messageRow(h, msg!.id);
    expect(row).toMatchObject({ status: "sent", partsExpected: 2, partsDelivered: 1 });
    await postSigned(h.url, envelope("sms:delivered", { messageId: msg!.id, deliveredAt: at }));
    row = await messageRow(h, msg!.id);
    expect(row).toMatchObject({ status: "delivered", partsDelivered: 2 });
    expect((await eventsOf(h, msg!.id)).map((e) => e.status).sort()).toEqual(["delivered", "sent"]);
  });

  it("counts a part delivered before sms:sent arrives", async () => {
    const [msg] = await accepted(1, { segments: 2 });
    const at = new Date().toISOString();
    await postSigned(h.url, envelope("sms:delivered", { messageId: msg!.id, deliveredAt: at }));
    expect((await messageRow(h, msg!.id)).status).toBe("accepted");
    await postSigned(h.url, envelope("sms:sent", { messageId: msg!.id, sentAt: at, partsCount: 2 }));
    await postSigned(h.url, envelope("sms:delivered", { messageId: msg!.id, deliveredAt: at }));
    expect(await messageRow(h, msg!.id)).toMatchObject({ status: "delivered", partsDelivered: 2 });
  });

  it("fails a message on sms:failed with the reason as its error", async () => {
    const [msg] = await accepted();
    const res = await postSigned(h.url, envelope("sms:failed", { messageId: msg!.id, failedAt: "2024-06-22T15:46:11+07:00", reason: "RESULT_ERROR_NO_SERVICE" }));
    expect(await res.json()).toEqual({ status: "applied" });
    const row = await messageRow(h, msg!.id);
    expect(row).toMatchObject({ status: "failed", error: "RESULT_ERROR_NO_SERVICE" });
    expect(row.failedAt?.toISOString()).toBe("2024-06-22T08:46:11.000Z");
    const [event] = await eventsOf(h, msg!.id);
    expect(event).toMatchObject({ status: "failed", userId });
  });

  it("stores a failure reason Postgres could not hold (NUL, lone surrogate) cleaned, instead of refusing it forever", async () => {
    const [msg] = await accepted();
    // The phone retries a refused webhook for days: a bad reason string must not make it unstorable.
    const raw = JSON.stringify(envelope("sms:failed", { messageId: msg!.id, failedAt: new Date().toISOString(), reason: "RADIO_X" }))
      .replace("RADIO_X", "RADIO\\u0000OFF\\ud800");
    const res = await postSigned(h.url, raw);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await messageRow(h, msg!.id)).toMatchObject({ status: "failed", error: "RADIO\uFFFDOFF\uFFFD" });
  });

  it("applies hundreds of concurrent reports exactly as one-by-one processing would", async () => {
    const msgs = await accepted(150, { segments: 2 });
    const at = new Date().toISOString();
    const hooks = msgs.flatMap((m, i) =>
      i % 10 === 0
        ? [envelope("sms:sent", { messageId: m.id, sentAt: at, partsCount: 2 }), envelope("sms:failed", { messageId: m.id, failedAt: at, reason: "boom" })]
        : [
            envelope("sms:sent", { messageId: m.id, sentAt: at, partsCount: 2 }),
            envelope("sms:delivered", { messageId: m.id, deliveredAt: at }),
            envelope("sms:delivered", { messageId: m.id, deliveredAt: at }),
          ],
    );
    // Every envelope twice, all at once: redeliveries racing their originals.
    const answers = await Promise.all([...hooks, ...hooks].map((hook) => postSigned(h.url, hook)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(await storedEnvelopes(h, hooks.map((x) => x.id))).toHaveLength(hooks.length);
    for (const [i, m] of msgs.entries()) {
      const row = await messageRow(h, m.id);
      if (i % 10 === 0) expect(row.status).toBe("failed");
      else expect(row).toMatchObject({ status: "delivered", partsDelivered: 2 });
    }
  });
});
