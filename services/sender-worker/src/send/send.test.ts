import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { enqueueSends } from "@inboxerr/contracts";
import { createDb, messages, type Db } from "@inboxerr/db";
import { createSmsGateDriver, type GatewayDriver, type SendResult } from "@inboxerr/gateway";
import { createTestUser, insertMessages, createPrivateDatabase, waitFor } from "@inboxerr/testing";
import { GATEWAY_CREDENTIALS, startGateway, startSender, startStubGateway, testPrefix, type TestSender } from "../testing/harness";
import { allIn, eventsOf, messageRow, statusCounts } from "../testing/messages";

// A database of its own: routing reads every shared sender in its database (ADR 0019), and
// other files' shared test senders must not carry this file's sends.
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let db: Db;
let close: () => Promise<void>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender | undefined;

beforeAll(async () => {
  database = await createPrivateDatabase();
  ({ db, close } = createDb(database.url, { max: 4 }));
  gateway = await startGateway();
});
afterEach(async () => {
  await sender?.close();
  sender = undefined;
});
afterAll(async () => {
  await gateway.close();
  await close();
  await database.drop();
});

const enqueue = (s: TestSender, rows: { id: string; priority: number }[]) => enqueueSends(s.sender.sendQueue, rows);

describe("sender worker", () => {
  it("sends 1,000 queued messages to the gateway exactly once each and records them accepted", async () => {
    sender = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix() });
    const user = await createTestUser(db);
    const rows = await insertMessages(db, user.id, 1_000);
    const before = await gateway.stats();

    await enqueue(sender, rows);
    await waitFor(() => allIn(db, user.id, "accepted", 1_000), { timeoutMs: 30_000, message: "1,000 accepted" });

    const stats = await gateway.stats();
    expect(stats.totalSends - before.totalSends).toBe(1_000);
    expect(stats.duplicates - before.duplicates).toBe(0);
    expect(rows.every((r) => stats.sendsById[r.id] === 1)).toBe(true);
    const events = await eventsOf(db, rows.map((r) => r.id));
    expect(events.filter((e) => e.status === "sending")).toHaveLength(1_000);
    expect(events.filter((e) => e.status === "accepted")).toHaveLength(1_000);
    const metrics = await sender.registry.getSingleMetricAsString("inboxerr_sender_sends_total");
    expect(metrics).toContain('inboxerr_sender_sends_total{result="accepted"} 1000');
  });

  it("still sends every message exactly once when the gateway answers 429 and 503 part of the time", async () => {
    const throttling = await startGateway({ rateLimit: 30 });
    try {
      sender = await startSender({ databaseUrl: database.url, gatewayUrl: throttling.url, prefix: testPrefix() });
      const user = await createTestUser(db);
      // 50 jobs at once against 30 tokens: the first wave alone is bound to be throttled.
      const rows = await insertMessages(db, user.id, 150);

      await enqueue(sender, rows);
      await waitFor(() => allIn(db, user.id, "accepted", 150), { timeoutMs: 30_000, message: "150 accepted" });

      const stats = await throttling.stats();
      expect(stats).toMatchObject({ totalSends: 150, duplicates: 0 });
      expect(rows.every((r) => stats.sendsById[r.id] === 1)).toBe(true);
      const metrics = await sender.registry.getSingleMetricAsString("inboxerr_sender_sends_total");
      expect(metrics).toMatch(/result="throttled"} [1-9]/);
      // Throttled jobs went back to the queue and ran again without spending an attempt.
      await waitFor(async () => (await sender!.sender.sendQueue.getCompletedCount()) === 150);
      const jobs = await sender.sender.sendQueue.getJobs(["completed"], 0, -1);
      expect(jobs.every((j) => j.attemptsMade === 1)).toBe(true);
      expect(jobs.some((j) => j.attemptsStarted > 1)).toBe(true);
      // ... and the message rows count only the call that got through.
      const stored = await db.select({ attempts: messages.attempts }).from(messages).where(eq(messages.userId, user.id));
      expect(stored.every((m) => m.attempts === 1)).toBe(true);
    } finally {
      await sender?.close();
      sender = undefined;
      await throttling.close();
    }
  });

  it("fails a message the gateway refuses for good, with the gateway's reason, once it has no attempts left", async () => {
    // One attempt per message: the refusal is final (a new attempt after one: routing.test.ts).
    sender = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix(), env: { SEND_MAX_ATTEMPTS: "1" } });
    const user = await createTestUser(db);
    const [bad] = await insertMessages(db, user.id, 1, { to: "+1" });

    await enqueue(sender, [bad!]);
    const row = await waitFor(async () => {
      const r = await messageRow(db, bad!.id);
      return r.status === "failed" && r;
    });

    expect(row.error).toMatch(/invalid phone number/);
    expect(row.failedAt).toBeTruthy();
    expect((await gateway.stats()).sendsById[bad!.id]).toBeUndefined();
    // The status is written before the job is marked failed: wait for BullMQ to catch up.
    await waitFor(async () => (await sender!.sender.sendQueue.getJobState(bad!.id)) === "failed");
    expect((await sender.sender.sendQueue.getJob(bad!.id))?.attemptsMade).toBe(1);
    expect((await eventsOf(db, [bad!.id])).map((e) => e.status)).toEqual(["sending", "failed"]);
  });

  it("does not send twice when a job killed mid-send runs again: the gateway's 409 counts as accepted", async () => {
    sender = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix() });
    const user = await createTestUser(db);
    // The earlier worker claimed it, POSTed it, and died before recording the answer.
    const [m] = await insertMessages(db, user.id, 1, { status: "sending", sendingAt: new Date(), attempts: 1 });
    expect(await sender.driver.send({ id: m!.id, to: m!.to, text: m!.text })).toMatchObject({ kind: "accepted", duplicate: false });

    await enqueue(sender, [m!]);
    await waitFor(async () => (await messageRow(db, m!.id)).status === "accepted");

    const stats = await gateway.stats();
    expect(stats.sendsById[m!.id]).toBe(2); // one 202 + one 409: the phone got it once
    const events = await eventsOf(db, [m!.id]);
    expect(events.map((e) => e.status)).toEqual(["accepted"]);
    expect(events[0]?.payload).toMatchObject({ gateway: { status: 409, duplicate: true, attempt: 2 } });
  });

  it("retries a send whose answer was lost and ends accepted on the gateway's 409", async () => {
    const real = createSmsGateDriver({ baseUrl: gateway.url, ...GATEWAY_CREDENTIALS, timeoutMs: 5_000 });
    let calls = 0;
    // The request arrives, the answer does not (a timeout): the worker must retry, not re-send blindly.
    const lossy: GatewayDriver = {
      ...real,
      async send(msg): Promise<SendResult> {
        const result = await real.send(msg);
        return ++calls === 1 ? { kind: "transient", reason: "timeout after 5000 ms", status: null } : result;
      },
    };
    sender = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix(), driver: lossy });
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1);

    await enqueue(sender, [m!]);
    await waitFor(async () => (await messageRow(db, m!.id)).status === "accepted", { timeoutMs: 15_000 });

    expect((await gateway.stats()).sendsById[m!.id]).toBe(2);
    expect((await eventsOf(db, [m!.id])).map((e) => e.status)).toEqual(["sending", "accepted"]);
    expect((await messageRow(db, m!.id)).attempts).toBe(2);
  });

  it("expires a message whose validUntil has passed without sending it", async () => {
    sender = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix() });
    const user = await createTestUser(db);
    const [late, fine] = await insertMessages(db, user.id, 2);
    await db.update(messages).set({ validUntil: new Date(Date.now() - 1_000) }).where(eq(messages.id, late!.id));

    await enqueue(sender, [late!, fine!]);
    await waitFor(async () => {
      const counts = await statusCounts(db, user.id);
      return counts.expired === 1 && counts.accepted === 1;
    });

    expect((await gateway.stats()).sendsById[late!.id]).toBeUndefined();
    expect((await eventsOf(db, [late!.id])).map((e) => e.status)).toEqual(["expired"]);
  });

  it("expires a message whose validUntil passes while the gateway keeps throttling", async () => {
    const busy = await startStubGateway(503, { message: "queue limits exceeded", error: "QueueLimitExceeded" });
    try {
      sender = await startSender({ databaseUrl: database.url, gatewayUrl: busy.url, prefix: testPrefix() });
      const user = await createTestUser(db);
      // Throttling without Retry-After waits a second: longer than this message may wait.
      const [m] = await insertMessages(db, user.id, 1, { validUntil: new Date(Date.now() + 500) });

      await enqueue(sender, [m!]);
      const row = await waitFor(async () => {
        const r = await messageRow(db, m!.id);
        return r.status === "expired" && r;
      });

      expect(row.error).toMatch(/validUntil passed while the gateway was throttling/);
      expect(busy.requests()).toBe(1);
      expect((await eventsOf(db, [m!.id])).map((e) => e.status)).toEqual(["sending", "expired"]);
    } finally {
      await sender?.close();
      sender = undefined;
      await busy.close();
    }
  });

  it("sends a due scheduled message (the api enqueued it as a delayed job)", async () => {
    sender = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix() });
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1, { status: "scheduled", queuedAt: null, scheduledAt: new Date(Date.now() + 1_500) });

    await enqueueSends(sender.sender.sendQueue, [{ id: m!.id, priority: 0, sendAt: m!.scheduledAt }]);
    expect(await sender.sender.sendQueue.getJobState(m!.id)).toBe("delayed");
    await waitFor(async () => (await messageRow(db, m!.id)).status === "accepted");

    expect((await gateway.stats()).sendsById[m!.id]).toBe(1);
  });

  it("never sends a scheduled message before its time, even when its job runs early", async () => {
    sender = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix() });
    const user = await createTestUser(db);
    const at = new Date(Date.now() + 2_000);
    const [m] = await insertMessages(db, user.id, 1, { status: "scheduled", queuedAt: null, scheduledAt: at });

    await enqueueSends(sender.sender.sendQueue, [{ id: m!.id, priority: 0 }]); // no delay: a buggy producer
    await waitFor(async () => (await sender!.sender.sendQueue.getJobState(m!.id)) === "delayed");
    expect((await gateway.stats()).sendsById[m!.id]).toBeUndefined();
    const row = await waitFor(async () => {
      const r = await messageRow(db, m!.id);
      return r.status === "accepted" && r;
    });

    expect(row.sendingAt!.getTime()).toBeGreaterThanOrEqual(at.getTime() - 1_000);
    expect((await gateway.stats()).sendsById[m!.id]).toBe(1);
    await waitFor(async () => (await sender!.sender.sendQueue.getJobState(m!.id)) === "completed");
    expect((await sender.sender.sendQueue.getJob(m!.id))?.attemptsMade).toBe(1);
  });
});
