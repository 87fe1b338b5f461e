import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createQueue, createRedis, eventBulkJobs, QUEUE_NAMES, toEventJob, type MessageEventJob, type OutboxJobData } from "@inboxerr/contracts";
import { createDb, NO_SENDER_ID, type DbHandle, type MessageEvent } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createTestUser, deleteKeysByPrefix, queuedEvents, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createMetricsWorker, type MetricsWorker } from "../app";
import { countsOf, createSender, reachedOf, reasonsOf, runChains, senderCountsOf } from "../testing/chains";
import { enqueueEvents } from "../testing/enqueue";

// ADR 0021: the same counts per (user, sender), and failed events per normalised reason,
// through the queue path with real transitions writing the outbox rows.
const env = testEnv();
const prefix = `${env.queuePrefix}:${uniqueSuffix()}`;
let database: DbHandle;
let producer: Redis;
let consumer: Redis;
let queue: Queue<OutboxJobData>;
let mw: MetricsWorker;

beforeAll(async () => {
  database = createDb(env.databaseUrl);
  producer = createRedis(env.redisUrl, "producer");
  consumer = createRedis(env.redisUrl, "worker");
  queue = createQueue<OutboxJobData>(QUEUE_NAMES.metricsEvents, { connection: producer, prefix });
  mw = createMetricsWorker({ db: database.db, connection: consumer, prefix, logger: createLogger({ service: "metrics-test", level: "silent" }) });
  mw.start();
});

afterAll(async () => {
  await mw.close();
  await queue.close();
  await Promise.all([producer.quit(), consumer.quit()]);
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await database.close();
});

const PATHS = [
  ["sending", "accepted", "sent", "delivered"],
  ["sending", "delivered"], // implies accepted and sent, counted for its sender too
  ["sending", "accepted", "failed"],
] as const;
const paths = (n: number) => Array.from({ length: n }, (_, i) => PATHS[i % PATHS.length]!);

async function appliedOf(events: readonly MessageEvent[]): Promise<number> {
  const { rows } = await database.db.execute<{ n: string }>(
    sql`select count(*) as n from metrics_applied_events where event_id = any(${sql.param(events.map((e) => e.id))}::uuid[])`,
  );
  return Number(rows[0]!.n);
}

async function publish(events: readonly MessageEvent[]): Promise<void> {
  await enqueueEvents([queue], events.map(toEventJob));
  await waitFor(async () => (await appliedOf(events)) === events.length, { timeoutMs: 30_000, message: "events applied" });
}

describe("metrics per sender", () => {
  it("counts each user's events per sender exactly once, a shared sender's per user", async () => {
    const [a, b] = [await createTestUser(database.db), await createTestUser(database.db)];
    const [own1, own2, shared] = [await createSender(database.db, a.id), await createSender(database.db, a.id), await createSender(database.db, null)];
    const events = [
      ...(await runChains(database.db, a.id, paths(9), { senderId: own1, error: () => "RESULT_ERROR_NO_SERVICE" })),
      ...(await runChains(database.db, a.id, paths(4), { senderId: own2, error: () => "RESULT_ERROR_NO_SERVICE" })),
      ...(await runChains(database.db, a.id, paths(3), { senderId: shared, error: () => "RESULT_ERROR_NO_SERVICE" })),
      ...(await runChains(database.db, b.id, paths(6), { senderId: shared, error: () => "RESULT_ERROR_NO_SERVICE" })),
    ];
    await publish(events);

    expect(await senderCountsOf(database.db, a.id, own1)).toEqual({ sending: 9, accepted: 9, sent: 6, delivered: 6, failed: 3 });
    for (const [user, sender] of [[a.id, own1], [a.id, own2], [a.id, shared], [b.id, shared]] as const) {
      expect(await senderCountsOf(database.db, user, sender)).toEqual(await reachedOf(database.db, user, sender));
    }
    expect(await senderCountsOf(database.db, b.id, own1)).toEqual({});
    // Per user, every sender together, as before.
    expect(await countsOf(database.db, a.id)).toEqual(await reachedOf(database.db, a.id));

    // Every event again in new jobs (a relay republish, ADR 0024): nothing counts twice.
    const before = (await queuedEvents(queue, ["completed"])).length;
    const again = events.map(toEventJob);
    await queue.addBulk(eventBulkJobs(QUEUE_NAMES.metricsEvents, again));
    await waitFor(async () => (await queuedEvents(queue, ["completed"])).length === before + again.length, { message: "copies processed" });
    expect(await senderCountsOf(database.db, a.id, own1)).toEqual({ sending: 9, accepted: 9, sent: 6, delivered: 6, failed: 3 });
    expect(await senderCountsOf(database.db, b.id, shared)).toEqual(await reachedOf(database.db, b.id, shared));
    expect(await reasonsOf(database.db, a.id)).toEqual({ RESULT_ERROR_NO_SERVICE: 3 + 1 + 1 });
  });

  it("breaks failed events down by normalised reason, per user and per sender", async () => {
    const user = await createTestUser(database.db);
    const [s1, s2] = [await createSender(database.db, user.id), await createSender(database.db, user.id)];
    const long = `carrier says ${"no ".repeat(60)}`;
    const reasons = ["RESULT_ERROR_LIMIT_EXCEEDED", "  RESULT_ERROR_LIMIT_EXCEEDED\n", `message ${randomUUID()} refused`, long];
    const fail = [["sending", "failed"]] as const;
    const events: MessageEvent[] = [];
    for (const [i, reason] of reasons.entries()) {
      events.push(...(await runChains(database.db, user.id, fail, { senderId: i % 2 === 0 ? s1 : s2, error: () => reason })));
    }
    events.push(...(await runChains(database.db, user.id, [["sending", "failed"], ["failed"]], { senderId: s1, error: () => "" })));
    await publish(events);

    const cut = `carrier says ${"no ".repeat(60)}`.slice(0, 100).trimEnd();
    expect(await reasonsOf(database.db, user.id)).toEqual({
      RESULT_ERROR_LIMIT_EXCEEDED: 2,
      "message <id> refused": 1,
      [cut]: 1,
      unknown: 2,
    });
    expect(await reasonsOf(database.db, user.id, s1)).toEqual({ RESULT_ERROR_LIMIT_EXCEEDED: 1, "message <id> refused": 1, unknown: 2 });
    expect(await reasonsOf(database.db, user.id, s2)).toEqual({ RESULT_ERROR_LIMIT_EXCEEDED: 1, [cut]: 1 });
  });

  it("counts a job from a publisher before ADR 0021 (no senderId, no error) per user only, its failure as unknown", async () => {
    const user = await createTestUser(database.db);
    const old = (status: MessageEventJob["status"]): MessageEventJob => ({
      eventId: randomUUID(),
      messageId: randomUUID(),
      userId: user.id,
      status,
      occurredAt: "2024-07-01T10:00:00.000Z",
      latencyMs: 10,
    });
    const jobs = [old("sending"), old("failed")];
    await enqueueEvents([queue], jobs);
    await waitFor(async () => Object.keys(await countsOf(database.db, user.id)).length === 2, { message: "old jobs counted" });
    expect(await countsOf(database.db, user.id)).toEqual({ sending: 1, failed: 1 });
    const { rows } = await database.db.execute<{ n: string }>(sql`select count(*) as n from metrics_sender_buckets where user_id = ${user.id}`);
    expect(Number(rows[0]!.n)).toBe(0);
    expect(await reasonsOf(database.db, user.id, NO_SENDER_ID)).toEqual({ unknown: 1 });
  });
});
