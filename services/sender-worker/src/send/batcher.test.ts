import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { Registry } from "prom-client";
import { createOutboxQueues, createRedis, QUEUE_NAMES } from "@inboxerr/contracts";
import { createDb, messageAttempts, messageEvents, messages } from "@inboxerr/db";
import { createOutboxPublisher } from "@inboxerr/outbox";
import { createTestUser, insertMessages, queuedEventIds, testEnv, waitFor } from "@inboxerr/testing";
import { createSenderInstruments } from "../prometheus";
import { logger, testPrefix } from "../testing/harness";
import { lockRow } from "../testing/messages";
import { createStatusBatcher, EXPIRED_UNSENT, LAPSED_BEFORE_NEW_ATTEMPT } from "./batcher";

const { db, pool, close } = createDb(testEnv().databaseUrl, { max: 8 });
const redis = createRedis(testEnv().redisUrl, "producer");
const registry = new Registry();
const metrics = createSenderInstruments(registry);
const eventQueues = createOutboxQueues({ connection: redis, prefix: testPrefix() });
const publisher = createOutboxPublisher({ pool, queues: eventQueues, logger });
const batcher = createStatusBatcher({ db, publisher, metrics });

beforeAll(async () => {
  // The producer connection fails fast rather than queueing: publish only once it is up.
  await waitFor(() => redis.status === "ready");
});
afterAll(async () => {
  await batcher.close();
  await publisher.close();
  for (const q of eventQueues) await q.obliterate({ force: true });
  for (const q of eventQueues) await q.close();
  redis.disconnect();
  await close();
});

const eventsOf = (ids: string[]) => db.select().from(messageEvents).where(inArray(messageEvents.messageId, ids));
const past = new Date(Date.now() - 60_000);

describe("status batcher", () => {
  it("claims queued messages in few round trips: each becomes sending with one published event", async () => {
    const user = await createTestUser(db);
    const rows = await insertMessages(db, user.id, 200);
    const before = (await metrics.statusBatchSize.get()).values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;

    const outcomes = await Promise.all(rows.map((m) => batcher.claim(m.id)));

    expect(outcomes.every((o) => o.kind === "send" && o.attempt === 1)).toBe(true);
    const batches = ((await metrics.statusBatchSize.get()).values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0) - before;
    expect(batches).toBeLessThan(10);
    const stored = await db.select().from(messages).where(eq(messages.userId, user.id));
    expect(stored.every((m) => m.status === "sending" && m.sendingAt && m.attempts === 1)).toBe(true);
    const events = await eventsOf(rows.map((r) => r.id));
    expect(events).toHaveLength(200);
    // Published after commit, then stamped.
    await waitFor(async () => (await eventsOf(rows.map((r) => r.id))).every((e) => e.publishedAt), { message: "events stamped published" });
    // On metrics-events; webhook-events takes no `sending` event (no customer is told of it).
    for (const queue of eventQueues) {
      const queued = new Set(await queuedEventIds(queue, ["waiting"]));
      expect(queued).toEqual(queue.name === QUEUE_NAMES.webhookEvents ? new Set() : new Set(events.map((e) => e.id)));
    }
  });

  it("lets a retry of a sending message through without a second event, and skips finished ones", async () => {
    const user = await createTestUser(db);
    const [retry, done, cancelled] = await insertMessages(db, user.id, 3);
    await batcher.claim(retry!.id);
    await db.update(messages).set({ status: "accepted" }).where(eq(messages.id, done!.id));
    await db.update(messages).set({ status: "cancelled" }).where(eq(messages.id, cancelled!.id));

    const [again, finished, gone, unknown] = await Promise.all([
      batcher.claim(retry!.id),
      batcher.claim(done!.id),
      batcher.claim(cancelled!.id),
      batcher.claim("00000000-0000-4000-8000-000000000000"),
    ]);

    expect(again).toMatchObject({ kind: "send", attempt: 2 });
    expect(finished).toEqual({ kind: "skip", status: "accepted" });
    expect(gone).toEqual({ kind: "skip", status: "cancelled" });
    expect(unknown).toEqual({ kind: "skip", status: null });
    expect(await eventsOf([retry!.id])).toHaveLength(1);
  });

  it("expires a claimable message past validUntil instead of claiming it", async () => {
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1, { validUntil: past });
    expect(await batcher.claim(m!.id)).toEqual({ kind: "expired" });
    const [row] = await db.select().from(messages).where(eq(messages.id, m!.id));
    expect(row).toMatchObject({ status: "expired", error: EXPIRED_UNSENT, attempts: 0 });
    expect((await eventsOf([m!.id])).map((e) => e.status)).toEqual(["expired"]);
  });

  it("expires a sending message past validUntil only if no attempt ever reached for the gateway", async () => {
    const user = await createTestUser(db);
    const [never, tried] = await insertMessages(db, user.id, 2, { status: "sending", validUntil: past });
    await db.update(messages).set({ attempts: 1 }).where(eq(messages.id, tried!.id));
    const [a, b] = await Promise.all([batcher.claim(never!.id), batcher.claim(tried!.id)]);
    expect(a).toEqual({ kind: "expired" });
    // An earlier call may have arrived: the gateway's answer (409 or not) decides, not a guess.
    expect(b).toMatchObject({ kind: "send", attempt: 2 });
  });

  it("opens a new attempt for a message whose last attempt failed before transmission, or fails it once validUntil passed", async () => {
    const user = await createTestUser(db);
    const [again, late] = await insertMessages(db, user.id, 2, { status: "accepted", attempts: 1 });
    await db.update(messages).set({ validUntil: past }).where(eq(messages.id, late!.id));
    for (const m of [again!, late!]) {
      await db.insert(messageAttempts).values({ id: m.id, messageId: m.id, n: 1, status: "failed", error: "RESULT_ERROR_NO_SERVICE" });
    }

    const [a, b] = await Promise.all([batcher.claim(again!.id), batcher.claim(late!.id)]);

    expect(a).toMatchObject({ kind: "send", target: { n: 2, fresh: true, senderId: null } });
    expect(a.kind === "send" && a.target.id).not.toBe(again!.id);
    const rows = await db.select().from(messageAttempts).where(eq(messageAttempts.messageId, again!.id));
    expect(rows.map((r) => [r.n, r.status]).sort()).toEqual([
      [1, "failed"],
      [2, "sending"],
    ]);
    // The message stays accepted (forward only); its new attempt counts one more call.
    expect((await db.select().from(messages).where(eq(messages.id, again!.id)))[0]).toMatchObject({ status: "accepted", attempts: 2 });
    expect(b).toEqual({ kind: "expired" });
    expect((await db.select().from(messages).where(eq(messages.id, late!.id)))[0]).toMatchObject({
      status: "failed",
      error: LAPSED_BEFORE_NEW_ATTEMPT,
    });
  });

  it("records a result once: a repeat or a backward move is refused", async () => {
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1);
    await batcher.claim(m!.id);
    expect(await batcher.finish({ messageId: m!.id, to: "accepted", payload: { gateway: { status: 202 } } })).toBe(true);
    expect(await batcher.finish({ messageId: m!.id, to: "accepted" })).toBe(false);
    expect(await batcher.finish({ messageId: m!.id, to: "expired" })).toBe(false);
    const statuses = (await eventsOf([m!.id])).map((e) => e.status).sort();
    expect(statuses).toEqual(["accepted", "sending"]);
  });

  it("does not expire a message that another worker claimed between the batch's read and its write", async () => {
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1, { validUntil: past });
    const lock = await lockRow(pool, m!.id);
    const outcome = batcher.claim(m!.id); // reads `queued`, lapsed: decides to expire
    await lock.waiter();
    await lock.commitStatus("sending"); // the other worker's claim lands first

    expect(await outcome).toEqual({ kind: "skip", status: "queued" });
    const [row] = await db.select().from(messages).where(eq(messages.id, m!.id));
    expect(row!.status).toBe("sending");
    expect(await eventsOf([m!.id])).toEqual([]);
  });

  it("fails only the write Postgres refuses; the others batched with it go through", async () => {
    const user = await createTestUser(db);
    const [nul, surrogate, good, queued] = await insertMessages(db, user.id, 4);
    await db.update(messages).set({ status: "sending", attempts: 1 }).where(inArray(messages.id, [nul!.id, surrogate!.id, good!.id]));
    const batchCount = async () => (await metrics.statusBatchSize.get()).values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
    const before = await batchCount();

    const [a, b, c, d] = await Promise.allSettled([
      batcher.finish({ messageId: nul!.id, to: "failed", error: "bad\u0000gateway body" }), // text cannot hold NUL
      batcher.finish({ messageId: surrogate!.id, to: "accepted", payload: { gateway: { state: "\ud800" } } }), // nor jsonb a lone surrogate
      batcher.finish({ messageId: good!.id, to: "accepted", payload: { gateway: { status: 202 } } }),
      batcher.claim(queued!.id),
    ]);

    expect(await batchCount()).toBe(before + 1); // one batch: the bad items really were in company
    // The status writer runs on pg directly (named statements): its errors are pg's own, unwrapped.
    expect(a).toMatchObject({ status: "rejected", reason: { code: "22021" } });
    expect(b).toMatchObject({ status: "rejected", reason: { code: expect.stringMatching(/^22/) } });
    expect(c).toEqual({ status: "fulfilled", value: true });
    expect(d).toMatchObject({ status: "fulfilled", value: { kind: "send", attempt: 1 } });
    const rows = await db.select().from(messages).where(eq(messages.userId, user.id));
    const statusOf = (id: string) => rows.find((r) => r.id === id)!.status;
    expect([statusOf(nul!.id), statusOf(surrogate!.id), statusOf(good!.id), statusOf(queued!.id)]).toEqual(["sending", "sending", "accepted", "sending"]);
    expect(rows.find((r) => r.id === queued!.id)!.attempts).toBe(1);
  });

  it("fails every caller of a batch whose write fails, and keeps working afterwards", async () => {
    const down = createDb("postgres://postgres@127.0.0.1:1/none", { connectionTimeoutMillis: 500 });
    const broken = createStatusBatcher({ db: down.db, publisher, metrics });
    const claims = [broken.claim(randomUUID()), broken.claim(randomUUID())];
    for (const c of claims) await expect(c).rejects.toThrow();
    await broken.close();
    await down.close();
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1);
    expect((await batcher.claim(m!.id)).kind).toBe("send");
  });
});
