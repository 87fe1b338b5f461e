/**
 * Issue #13: a 15 s Postgres outage grew Redis tenfold (every retry stored an 8 KB failedReason
 * and a 25 KB stack in its job) and spent the jobs' attempts. Now the sender pauses as a whole
 * while Postgres is unreachable: jobs go back unspent, carry no stack, and drain once it returns.
 * Runs on a Postgres of its own, stopped and started here.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSends, JOB_DEFAULTS, MAX_JOB_ERROR_LENGTH } from "@inboxerr/contracts";
import { createDb, type DbHandle } from "@inboxerr/db";
import { runMigrations } from "@inboxerr/db/migrate";
import { createTestUser, insertMessages, startPostgresServer, testEnv, waitFor, type PostgresServer } from "@inboxerr/testing";
import { startGateway, startSender, testPrefix, type TestSender } from "../testing/harness";
import { allIn } from "../testing/messages";

let pg: PostgresServer;
let handle: DbHandle;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender;
const redis = new Redis(testEnv().redisUrl);
const prefix = testPrefix();

beforeAll(async () => {
  pg = await startPostgresServer();
  await runMigrations(pg.url);
  handle = createDb(pg.url, { max: 2, connectionTimeoutMillis: 1_000 });
  gateway = await startGateway();
  sender = await startSender({ gatewayUrl: gateway.url, prefix, databaseUrl: pg.url, tuning: { dbProbeIntervalMs: 200 }, env: { SMSGATE_TIMEOUT_MS: "15000" } });
});

afterAll(async () => {
  await sender?.close();
  await gateway?.close();
  await handle?.close();
  await pg?.destroy();
  await redis.quit();
});

describe("the sender while Postgres is down", () => {
  it("pauses instead of failing jobs, stores no stack or long reason in Redis, and drains every message once Postgres returns", async () => {
    const user = await createTestUser(handle.db);
    const first = await insertMessages(handle.db, user.id, 50);
    const second = await insertMessages(handle.db, user.id, 50);
    const queue = sender.sender.sendQueue;

    // Some of the first wave are mid-send (claimed, at the gateway, recording) when it stops.
    await enqueueSends(queue, first);
    await pg.stop();
    const stoppedAt = Date.now();
    await enqueueSends(queue, second);
    await waitFor(() => sender.sender.pausedForDatabase, { message: "the sender pauses for the outage" });

    // The outage lasts a few seconds (the test's input, not a wait for a condition), with
    // probes every 200 ms, long enough for a worker failing every job to spend attempts.
    await waitFor(() => Date.now() - stoppedAt >= 3_000, { timeoutMs: 5_000, message: "a 3 s outage" });
    const during = await queue.getJobCounts("failed", "active", "delayed");
    expect(during).toEqual({ failed: 0, active: 0, delayed: 0 });
    const jobs = (await queue.getJobs(["wait", "prioritized"])).filter((j) => j.id !== undefined);
    expect(jobs.length).toBeGreaterThanOrEqual(50);
    for (const job of jobs) {
      expect(job.attemptsMade).toBe(0);
      expect(job.stacktrace ?? []).toEqual([]);
    }
    // The queue's whole footprint: ~0.5 KB a job, where one 25 KB stack per retry was stored.
    const keys = await redis.keys(`${prefix}:sms-send:*`);
    let bytes = 0;
    for (const key of keys) bytes += (await redis.memory("USAGE", key)) ?? 0;
    expect(bytes).toBeLessThan(100 * 2_048);

    await pg.start();
    await waitFor(() => allIn(sender.db, user.id, "accepted", 100), { timeoutMs: 45_000, message: "all 100 accepted after the outage" });
    expect(sender.sender.pausedForDatabase).toBe(false);
    expect(await queue.getJobCounts("failed")).toEqual({ failed: 0 });
    const stats = await gateway.stats();
    expect(stats.totalSends).toBe(100); // each message reached the gateway once (a re-send answers 409)
    for (const job of await queue.getJobs(["completed"])) {
      expect(job.stacktrace ?? []).toEqual([]);
      expect((job.failedReason ?? "").length).toBeLessThanOrEqual(MAX_JOB_ERROR_LENGTH);
    }
  });

  it("sets the sms-send and metrics-events jobs to keep no stack traces", () => {
    expect(JOB_DEFAULTS["sms-send"].stackTraceLimit).toBe(0);
    expect(JOB_DEFAULTS["metrics-events"].stackTraceLimit).toBe(0);
  });
});
