import { batches, createDb, transitionMany, webhookDeliveries, webhookEndpoints, type DbHandle, type MessageStatus } from "@inboxerr/db";
import { createTestUser, insertMessages, testDatabaseUrl } from "@inboxerr/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookBody } from "../events";
import { batchCompletions } from "./batch-completed";

// The run's shared database: every batch and message here belongs to a user of its own test.
let h: DbHandle;
beforeAll(() => {
  h = createDb(testDatabaseUrl(), { max: 4 });
});
afterAll(() => h?.close());

async function batchOf(userId: string, n: number) {
  const [batch] = await h.db.insert(batches).values({ userId, total: n }).returning();
  const messages = await insertMessages(h.db, userId, n, { batchId: batch!.id });
  return { batch: batch!, ids: messages.map((m) => m.id) };
}

/** Moves messages through the real status writer; the message ids of the events it wrote. */
async function move(ids: string[], to: MessageStatus): Promise<string[]> {
  const events = await transitionMany(h.db, ids.map((messageId) => ({ messageId, to })));
  expect(events).toHaveLength(ids.length);
  return events.map((e) => e.messageId);
}

const zero = { scheduled: 0, queued: 0, sending: 0, accepted: 0, sent: 0, delivered: 0, failed: 0, cancelled: 0, expired: 0 };

describe("batchCompletions", () => {
  it("completes a batch only when its last message ends, with the batch as GET /batches/:id shows it, under the same id every time", async () => {
    const user = await createTestUser(h.db);
    const { batch, ids } = await batchOf(user.id, 4);
    const [a, b, c, d] = ids as [string, string, string, string];

    expect(await batchCompletions(h.db, await move([a], "failed"))).toEqual([]);
    expect(await batchCompletions(h.db, await move([b], "cancelled"))).toEqual([]);
    // sent is not an end: the delivery report is still to come.
    await move([c, d], "sent");
    expect(await batchCompletions(h.db, await move([c], "delivered"))).toEqual([]);

    const before = new Date();
    const [done, ...rest] = await batchCompletions(h.db, await move([d], "delivered"));
    expect(rest).toEqual([]);
    expect(done).toMatchObject({
      id: batch.id,
      type: "batch.completed",
      userId: user.id,
      data: { id: batch.id, total: 4, createdAt: batch.createdAt.toISOString(), counts: { ...zero, delivered: 2, failed: 1, cancelled: 1 } },
    });
    expect(done!.occurredAt.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);

    // A late or repeated terminal event of the same batch names the same event.
    const again = await batchCompletions(h.db, [a, b]);
    expect(again.map(({ id, type, userId, data }) => ({ id, type, userId, data }))).toEqual([
      { id: done!.id, type: done!.type, userId: done!.userId, data: done!.data },
    ]);
  });

  it("says nothing for messages outside a batch, unknown ids, or a batch with a message still waiting", async () => {
    const user = await createTestUser(h.db);
    const [single] = await insertMessages(h.db, user.id, 1);
    const { ids } = await batchOf(user.id, 3);
    await move([ids[0]!, ids[1]!], "failed");
    // ids[2] is still queued.
    expect(await batchCompletions(h.db, [...(await move([single!.id], "failed")), ids[0]!, ids[1]!, crypto.randomUUID()])).toEqual([]);
    expect(await batchCompletions(h.db, [])).toEqual([]);
  });

  it("answers for several batches of several owners in one call, each to its owner", async () => {
    const alice = await createTestUser(h.db);
    const bob = await createTestUser(h.db);
    const x = await batchOf(alice.id, 2);
    const y = await batchOf(bob.id, 1);
    const z = await batchOf(bob.id, 2);
    const ended = await move([...x.ids, ...y.ids, z.ids[0]!], "expired");
    const events = await batchCompletions(h.db, ended);
    expect(events.map((e) => [e.id, e.userId]).sort()).toEqual(
      [
        [x.batch.id, alice.id],
        [y.batch.id, bob.id],
      ].sort(),
    );
    expect(events.find((e) => e.id === x.batch.id)!.data).toMatchObject({ total: 2, counts: { ...zero, expired: 2 } });
  });

  it("derives a completion no more once it made a delivery for one of the owner's endpoints", async () => {
    const user = await createTestUser(h.db);
    const { ids } = await batchOf(user.id, 2);
    const [done] = await batchCompletions(h.db, await move(ids, "failed"));
    expect(done).toBeDefined();
    const [endpoint] = await h.db.insert(webhookEndpoints).values({ userId: user.id, url: "https://hooks.test.inboxerr.dev/in", secret: "sealed" }).returning();
    await h.db.insert(webhookDeliveries).values({ endpointId: endpoint!.id, userId: user.id, eventId: done!.id, type: done!.type, payload: webhookBody(done!) });
    expect(await batchCompletions(h.db, ids)).toEqual([]);

    // Another owner's delivery under the same event id does not count (it cannot exist, but the check is per owner).
    const other = await createTestUser(h.db);
    const second = await batchOf(other.id, 1);
    const [otherEndpoint] = await h.db.insert(webhookEndpoints).values({ userId: user.id, url: "https://hooks.test.inboxerr.dev/x", secret: "sealed" }).returning();
    const ended = await move(second.ids, "failed");
    await h.db.insert(webhookDeliveries).values({ endpointId: otherEndpoint!.id, userId: user.id, eventId: second.batch.id, type: "batch.completed", payload: {} });
    expect((await batchCompletions(h.db, ended)).map((e) => e.id)).toEqual([second.batch.id]);
  });

  it("probes the batch's index for a waiting message instead of reading the batch", async () => {
    const user = await createTestUser(h.db);
    const { ids } = await batchOf(user.id, 50);
    const client = await h.pool.connect();
    try {
      await batchCompletions(client, await move(ids.slice(0, 1), "failed")); // prepares it on this connection
      const [{ statement }] = (await client.query<{ statement: string }>("select statement from pg_prepared_statements where name = 'webhooks_completed_batches'")).rows as [{ statement: string }];
      expect(statement).toContain("messages m where m.batch_id");
      await client.query("set enable_seqscan = off");
      await client.query("set plan_cache_mode = force_generic_plan");
      const plan = (await client.query<{ "QUERY PLAN": string }>(`explain execute webhooks_completed_batches('{${ids[0]}}')`)).rows
        .map((r) => r["QUERY PLAN"])
        .join("\n");
      // One probe per batch, keyed by it: not a walk over every unfinished message.
      expect(plan).toMatch(/Index Only Scan using messages_batch_id_status_idx on messages m[^\n]*\n\s*Index Cond: \(\(?batch_id = /);
    } finally {
      await client.query("reset all");
      client.release();
    }
  });
});
