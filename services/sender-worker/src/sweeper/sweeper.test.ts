import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { enqueueSends, sendJobId } from "@inboxerr/contracts";
import { createDb, idempotencyKeys, messageAttempts, messages, type DbHandle } from "@inboxerr/db";
import { createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { LOCK_KEYS } from "../advisory-lock";
import { EXPIRED_UNSENT } from "../send/batcher";
import { startGateway, startSender, testPrefix, type TestSender } from "../testing/harness";
import { age, eventsOf, lockRow, messageRow } from "../testing/messages";
import { purgeIdempotencyKeys } from "./purge";
import { createPrivateDatabase } from "@inboxerr/testing";

let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let handle: DbHandle;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender;

beforeAll(async () => {
  database = await createPrivateDatabase();
  handle = createDb(database.url, { max: 4 });
  gateway = await startGateway();
});
afterEach(async () => {
  await sender?.close();
});
afterAll(async () => {
  await gateway.close();
  await handle.close();
  await database.drop();
});

/** A sender on the file's own database, not yet taking jobs, so a test can lose jobs first. */
const idleSender = () =>
  startSender({ gatewayUrl: gateway.url, prefix: testPrefix(), databaseUrl: database.url, autostart: false });
const sent = async (id: string) => (await gateway.stats()).sendsById[id] ?? 0;
const accepted = (id: string) => waitFor(async () => (await messageRow(handle.db, id)).status === "accepted");

describe("sweeper", () => {
  it("re-enqueues a queued message whose job Redis lost, and it goes out once", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    const [m] = await insertMessages(handle.db, user.id, 1);
    await enqueueSends(sender.sender.sendQueue, [m!]);
    await sender.sender.sendQueue.remove(m!.id); // Redis lost it (flush, failover, eviction)
    await age(handle.db, [m!.id], 120);

    const report = await sender.sender.runSweeperOnce();
    expect(report?.reenqueued.queued).toBe(1);
    sender.sender.start({ periodic: false });
    await accepted(m!.id);

    expect(await sent(m!.id)).toBe(1);
  });

  it("gives a due scheduled message and one stuck in sending a new job; each goes out once", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    const [due] = await insertMessages(handle.db, user.id, 1, { status: "scheduled", queuedAt: null, scheduledAt: new Date(Date.now() - 120_000) });
    const [stuck] = await insertMessages(handle.db, user.id, 1, { status: "sending", sendingAt: new Date(Date.now() - 600_000) });
    await age(handle.db, [stuck!.id], 600); // > SWEEPER_STALE_SECONDS (120)

    const report = await sender.sender.runSweeperOnce();
    expect(report?.reenqueued).toMatchObject({ scheduled: 1, sending: 1 });
    sender.sender.start({ periodic: false });
    await accepted(due!.id);
    await accepted(stuck!.id);

    expect(await sent(due!.id)).toBe(1);
    expect(await sent(stuck!.id)).toBe(1);
    // The stuck one was already claimed: its retry adds no second `sending` event.
    expect((await eventsOf(handle.db, [stuck!.id])).map((e) => e.status)).toEqual(["accepted"]);
  });

  it("removes a kept finished job first, so the re-enqueue is not a silent no-op", async () => {
    sender = await startSender({ gatewayUrl: gateway.url, prefix: testPrefix(), databaseUrl: database.url });
    const user = await createTestUser(handle.db);
    const [m] = await insertMessages(handle.db, user.id, 1);
    await enqueueSends(sender.sender.sendQueue, [m!]);
    await accepted(m!.id);
    // Postgres restored to before the send: the row says queued, Redis keeps the completed job.
    await handle.db.update(messages).set({ status: "queued" }).where(eq(messages.id, m!.id));
    await age(handle.db, [m!.id], 120);
    await waitFor(async () => (await sender.sender.sendQueue.getJobState(m!.id)) === "completed");

    await sender.sender.runSweeperOnce();
    await accepted(m!.id);

    // It ran again, and the gateway's 409 kept it to one real send.
    const stats = await gateway.stats();
    expect(stats.sendsById[m!.id]).toBe(2);
    const job = await waitFor(async () => {
      const j = await sender.sender.sendQueue.getJob(m!.id);
      return j?.finishedOn && j;
    });
    expect(job.returnvalue).toBe("accepted:duplicate");
  });

  it("gives a message whose refused attempt's follow-up job was lost its next attempt's job (ADR 0019)", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    // Attempt 1 was refused (4xx) a minute ago; the worker died before adding attempt 2's job.
    const [m] = await insertMessages(handle.db, user.id, 1, { status: "sending", sendingAt: new Date(), attempts: 1 });
    const minuteAgo = new Date(Date.now() - 60_000);
    await handle.db
      .insert(messageAttempts)
      .values({ id: m!.id, messageId: m!.id, n: 1, status: "failed", error: "refused", createdAt: minuteAgo, updatedAt: minuteAgo });

    const report = await sender.sender.runSweeperOnce();
    expect(report?.reenqueued).toMatchObject({ reattempt: 1, sending: 0 });
    expect(await sender.sender.sendQueue.getJob(sendJobId(m!.id, 2))).toBeTruthy();
    // Seen as live now: a second pass adds nothing.
    expect((await sender.sender.runSweeperOnce())?.reenqueued.reattempt).toBe(0);
    sender.sender.start({ periodic: false });
    await accepted(m!.id);

    const attempts = await handle.db.select().from(messageAttempts).where(eq(messageAttempts.messageId, m!.id));
    const second = attempts.find((a) => a.n === 2);
    expect(second).toMatchObject({ status: "accepted" });
    expect(await sent(second!.id)).toBe(1);
    expect(await sent(m!.id)).toBe(0);
  });

  it("gives a message whose attempts were all cancelled its next attempt, past SEND_MAX_ATTEMPTS rows (ADR 0022)", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    // Three attempts cancelled at the gateway (failover, sms:cancelled): none left the phone, so
    // none counts towards SEND_MAX_ATTEMPTS (3); the follow-up job was lost.
    const [m] = await insertMessages(handle.db, user.id, 1, { status: "accepted", sendingAt: new Date(), acceptedAt: new Date(), attempts: 3 });
    const minuteAgo = new Date(Date.now() - 60_000);
    await handle.db
      .insert(messageAttempts)
      .values([1, 2, 3].map((n) => ({ messageId: m!.id, n, status: "cancelled" as const, createdAt: minuteAgo, updatedAt: minuteAgo })));

    const report = await sender.sender.runSweeperOnce();
    expect(report?.reenqueued).toMatchObject({ reattempt: 1 });
    expect(await sender.sender.sendQueue.getJob(sendJobId(m!.id, 4))).toBeTruthy();
    sender.sender.start({ periodic: false });
    await waitFor(async () => {
      const rows = await handle.db.select().from(messageAttempts).where(eq(messageAttempts.messageId, m!.id));
      return rows.some((a) => a.n === 4 && a.status === "accepted");
    }, { message: "attempt 4 accepted" });
    expect((await messageRow(handle.db, m!.id)).status).toBe("accepted");
  });

  it("leaves messages with a live job and young queued messages alone", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    const [waiting, young] = await insertMessages(handle.db, user.id, 2);
    await enqueueSends(sender.sender.sendQueue, [waiting!]);
    await age(handle.db, [waiting!.id], 120);

    const report = await sender.sender.runSweeperOnce();

    expect(report?.reenqueued.queued).toBe(0);
    expect(await sender.sender.sendQueue.getJob(young!.id)).toBeUndefined();
    // Tidy up for the next tests, which share this database.
    await handle.db.update(messages).set({ status: "cancelled" }).where(inArray(messages.id, [waiting!.id, young!.id]));
  });

  it("expires unsent messages past validUntil, with their events, and never sends them", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 3, { validUntil: new Date(Date.now() - 1_000) });
    await enqueueSends(sender.sender.sendQueue, rows); // jobs that will find nothing to do

    const report = await sender.sender.runSweeperOnce();
    expect(report?.expired).toBe(3);
    sender.sender.start({ periodic: false });
    await waitFor(async () => (await sender.sender.sendQueue.getCompletedCount()) === 3);

    for (const m of rows) {
      expect(await messageRow(handle.db, m.id)).toMatchObject({ status: "expired", error: EXPIRED_UNSENT });
      expect(await sent(m.id)).toBe(0);
    }
    const events = await eventsOf(handle.db, rows.map((r) => r.id));
    expect(events.map((e) => e.status)).toEqual(["expired", "expired", "expired"]);
    await waitFor(async () => (await eventsOf(handle.db, rows.map((r) => r.id))).every((e) => e.publishedAt));
  });

  it("leaves a message a worker claimed between the sweeper's read and its write to that worker", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    const [m] = await insertMessages(handle.db, user.id, 1, { validUntil: new Date(Date.now() - 1_000) });
    const lock = await lockRow(handle.pool, m!.id);
    const pass = sender.sender.runSweeperOnce(); // selects it as expired, then waits on the lock
    await lock.waiter();
    await lock.commitStatus("sending"); // the worker's claim lands first; its gateway call is in flight

    expect((await pass)?.expired).toBe(0);
    expect((await messageRow(handle.db, m!.id)).status).toBe("sending");
    expect(await eventsOf(handle.db, [m!.id])).toEqual([]);
    await handle.db.update(messages).set({ status: "cancelled" }).where(eq(messages.id, m!.id));
  });

  it("purges expired idempotency keys and keeps live ones", async () => {
    sender = await idleSender();
    const user = await createTestUser(handle.db);
    const key = (n: number, expiresAt: Date) => ({ userId: user.id, key: `k${n}`, requestHash: "h", responseStatus: 202, responseBody: { n }, expiresAt });
    const expired = new Date(Date.now() - 60_000);
    await handle.db.insert(idempotencyKeys).values([key(1, expired), key(2, expired), key(3, new Date(Date.now() + 3_600_000))]);

    expect(await sender.sender.runSweeperOnce()).toMatchObject({ idempotencyKeysPurged: 2 });
    const left = await handle.db.select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(eq(idempotencyKeys.userId, user.id));
    expect(left).toEqual([{ key: "k3" }]);
  });

  it("purges a backlog in bounded batches, up to its per-pass limit", async () => {
    const user = await createTestUser(handle.db);
    const expiresAt = new Date(Date.now() - 60_000);
    await handle.db
      .insert(idempotencyKeys)
      .values(Array.from({ length: 25 }, (_, n) => ({ userId: user.id, key: `b${n}`, requestHash: "h", expiresAt })));

    expect(await purgeIdempotencyKeys(handle.db, { batchSize: 10, maxBatches: 2 })).toBe(20);
    expect(await purgeIdempotencyKeys(handle.db, { batchSize: 10, maxBatches: 2 })).toBe(5);
    expect(await handle.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, user.id))).toEqual([]);
  });

  it("pages through a backlog larger than one page", async () => {
    sender = await startSender({ gatewayUrl: gateway.url, prefix: testPrefix(), databaseUrl: database.url, autostart: false, tuning: { pageSize: 100 } });
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 250);
    await age(handle.db, rows.map((r) => r.id), 120);

    const report = await sender.sender.runSweeperOnce();

    expect(report?.reenqueued.queued).toBe(250);
    expect(await sender.sender.sendQueue.getJobCountByTypes("prioritized", "waiting")).toBe(250);
    await handle.db.update(messages).set({ status: "cancelled" }).where(eq(messages.userId, user.id));
  });

  it("runs on one replica at a time: a held lock makes a pass a no-op", async () => {
    sender = await idleSender();
    const holder = await handle.pool.connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [LOCK_KEYS.sweeper]);
      expect(await sender.sender.runSweeperOnce()).toBeNull();
      await holder.query("select pg_advisory_unlock($1)", [LOCK_KEYS.sweeper]);
      expect(await sender.sender.runSweeperOnce()).not.toBeNull();
    } finally {
      holder.release();
    }
  });
});
