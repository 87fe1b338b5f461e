import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { createDb, messageEvents, messages, type DbHandle, type NewMessage } from "@inboxerr/db";
import { createTestUser, insertMessages, testEnv, waitFor } from "@inboxerr/testing";
import { applyWebhooks } from "./apply";
import type { IncomingWebhook, StatusReport } from "./parse";

let database: DbHandle;
let userId: string;
beforeAll(async () => {
  database = createDb(testEnv().databaseUrl);
  userId = (await createTestUser(database.db)).id;
});
afterAll(() => database.close());

const at = new Date("2024-06-22T08:46:11.000Z");
function report(messageId: string, r: StatusReport, envelopeId = randomUUID()): IncomingWebhook {
  return { envelopeId, event: `sms:${r.kind}`, deviceId: "d", messageId, json: "{}", action: { kind: "report", messageId, report: r } };
}
const sent = (id: string, partsCount?: number) => report(id, { kind: "sent", at, partsCount });
const delivered = (id: string) => report(id, { kind: "delivered", at });
const failed = (id: string, reason: string) => report(id, { kind: "failed", at, reason });

async function message(over: Partial<NewMessage> = {}) {
  const [m] = await insertMessages(database.db, userId, 1, { status: "accepted", acceptedAt: new Date(), ...over });
  return m!;
}
const row = async (id: string) => (await database.db.select().from(messages).where(eq(messages.id, id)))[0]!;
const events = async (id: string) => database.db.select().from(messageEvents).where(eq(messageEvents.messageId, id));

describe("applyWebhooks", () => {
  it("applies a sent and both delivered parts of one message handed over together, in order", async () => {
    const m = await message({ segments: 2 });
    const result = await applyWebhooks(database.pool, [sent(m.id, 2), delivered(m.id), delivered(m.id)]);
    expect(result.outcomes).toEqual(["applied", "applied", "applied"]);
    expect(await row(m.id)).toMatchObject({ status: "delivered", partsExpected: 2, partsDelivered: 2, sentAt: at, deliveredAt: at });
    expect(result.events.map((e) => e.status)).toEqual(["sent", "delivered"]);
    expect((await events(m.id)).map((e) => e.status).sort()).toEqual(["delivered", "sent"]);
  });

  it("lets a late sms:sent complete a delivery whose parts overtook it", async () => {
    const m = await message({ segments: 2 });
    await applyWebhooks(database.pool, [delivered(m.id)]);
    expect(await row(m.id)).toMatchObject({ status: "accepted", partsDelivered: 1 });
    const result = await applyWebhooks(database.pool, [sent(m.id, 1)]);
    expect(result.events.map((e) => e.status).sort()).toEqual(["delivered", "sent"]);
    const r = await row(m.id);
    expect(r).toMatchObject({ status: "delivered", partsExpected: 1, sentAt: at });
    // The phone gave no delivery time for this one: ours stands in.
    expect(Math.abs(r.deliveredAt!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("counts a part without touching updated_at, and stamps it on a transition", async () => {
    const m = await message({ segments: 2, status: "sent" });
    const before = (await row(m.id)).updatedAt;
    expect((await applyWebhooks(database.pool, [delivered(m.id)])).events).toEqual([]);
    expect((await row(m.id)).updatedAt).toEqual(before);
    await applyWebhooks(database.pool, [delivered(m.id)]);
    expect((await row(m.id)).updatedAt.getTime()).toBeGreaterThan(before.getTime());
  });

  it("records the failure reason on the message and in the outbox payload, with the latency since creation", async () => {
    const m = await message({ createdAt: new Date(Date.now() - 5_000) });
    const { events: written } = await applyWebhooks(database.pool, [failed(m.id, "RESULT_ERROR_NO_SERVICE")]);
    // The event carries the reason (and the sender: none here) for the outbox job (ADR 0021).
    expect(written).toEqual([expect.objectContaining({ messageId: m.id, userId, status: "failed", senderId: null, error: "RESULT_ERROR_NO_SERVICE" })]);
    expect(written[0]!.latencyMs).toBeGreaterThanOrEqual(5_000);
    const [event] = await events(m.id);
    expect(event?.payload).toMatchObject({ source: "sms-gate", event: "sms:failed", reason: "RESULT_ERROR_NO_SERVICE" });
    expect(await row(m.id)).toMatchObject({ status: "failed", error: "RESULT_ERROR_NO_SERVICE", failedAt: at });
  });

  it("lets whichever report finishes a message first in one batch decide, failure or delivery", async () => {
    const a = await message();
    expect((await applyWebhooks(database.pool, [failed(a.id, "No service"), delivered(a.id)])).events.map((e) => e.status)).toEqual(["failed"]);
    expect(await row(a.id)).toMatchObject({ status: "failed", error: "No service", partsDelivered: 1 });
    const b = await message();
    expect((await applyWebhooks(database.pool, [delivered(b.id), failed(b.id, "late")])).events.map((e) => e.status)).toEqual(["delivered"]);
    expect(await row(b.id)).toMatchObject({ status: "delivered", error: null });
  });

  it("applies a report to the message as another writer left it while the batch waited for its lock", async () => {
    const m = await message({ status: "sending" });
    // The sender-worker recording `accepted`, still uncommitted when the webhook arrives.
    const other = await database.pool.connect();
    try {
      await other.query("begin");
      await other.query("update messages set status = 'accepted', accepted_at = now() where id = $1", [m.id]);
      const applying = applyWebhooks(database.pool, [sent(m.id, 1)]);
      await waitFor(
        async () => {
          const { rows } = await database.pool.query(
            "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%gateway_webhook_events%'",
          );
          return rows.length > 0;
        },
        { message: "the batch waiting on the message's row lock" },
      );
      await other.query("commit");
      expect((await applying).outcomes).toEqual(["applied"]);
    } finally {
      other.release();
    }
    expect(await row(m.id)).toMatchObject({ status: "sent", partsExpected: 1 });
    expect((await events(m.id)).map((e) => e.status)).toEqual(["sent"]);
  });

  it("lets only the first copy of an envelope in a batch act", async () => {
    const m = await message();
    const hook = sent(m.id);
    const result = await applyWebhooks(database.pool, [hook, { ...hook }]);
    expect(result.outcomes).toEqual(["applied", "duplicate"]);
    expect(await events(m.id)).toHaveLength(1);
  });

  it("leaves cancelled, expired and failed messages alone", async () => {
    for (const status of ["cancelled", "expired", "failed"] as const) {
      const m = await message({ status });
      const result = await applyWebhooks(database.pool, [sent(m.id, 1), failed(m.id, "x")]);
      expect(result.outcomes).toEqual(["ignored", "ignored"]);
      expect(await row(m.id)).toMatchObject({ status, partsExpected: null });
    }
  });
});
