/**
 * The webhook half of the pipeline, end to end over real HTTP: messages the gateway accepted
 * → the simulator plays each one out and calls back with signed webhooks → webhook-ingest
 * applies them → metrics-worker counts the events. (The full version through the api and
 * sender-worker lives at the repository level.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, count, eq, inArray, isNotNull, isNull, or, sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import { createRedis } from "@inboxerr/contracts";
import { messageEvents, messages, metricsBuckets } from "@inboxerr/db";
import { createSmsGateDriver } from "@inboxerr/gateway";
import { createLogger } from "@inboxerr/logger";
import { analyzeText } from "@inboxerr/sms";
import { createTestUser, insertMessages, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { CREDENTIALS, startSimulator } from "@inboxerr/gateway-simulator/testing";
import { createMetricsWorker, type MetricsWorker } from "@inboxerr/metrics-worker";
import { registerWebhooks } from "../registration/register";
import { SIGNING_KEY, startIngest, type Harness } from "../testing/harness";

const TOTAL = 500;
let ingest: Harness;
let gateway: Awaited<ReturnType<typeof startSimulator>>;
let workerRedis: Redis;
let metricsWorker: MetricsWorker;

beforeAll(async () => {
  ingest = await startIngest();
  gateway = await startSimulator({ signingKey: SIGNING_KEY, latencyMs: 20, failureRate: 0.1, seed: uniqueSuffix() });
  workerRedis = createRedis(testEnv().redisUrl, "worker");
  metricsWorker = createMetricsWorker({
    db: ingest.database.db,
    connection: workerRedis,
    prefix: ingest.prefix,
    logger: createLogger({ service: "metrics-worker-test", level: "silent" }),
  });
  metricsWorker.start();
});

afterAll(async () => {
  await gateway?.close();
  await metricsWorker?.close();
  await workerRedis?.quit();
  await ingest?.close();
});

describe("gateway webhooks → webhook-ingest → metrics-worker", () => {
  it(`settles ${TOTAL} accepted messages as the gateway decided, and the metrics agree with the rows`, async () => {
    const driver = createSmsGateDriver({ baseUrl: gateway.api, ...CREDENTIALS, timeoutMs: 5_000 });
    await registerWebhooks(driver, { url: ingest.url });

    const user = await createTestUser(ingest.database.db);
    const long = "Multipart check: ".padEnd(200, "x"); // two GSM-7 parts: delivered after both report
    const short = await insertMessages(ingest.database.db, user.id, TOTAL - 50, { status: "accepted", acceptedAt: new Date() });
    const multi = await insertMessages(ingest.database.db, user.id, 50, {
      status: "accepted",
      acceptedAt: new Date(),
      text: long,
      segments: analyzeText(long).segments,
    });
    const all = [...short, ...multi];
    expect(analyzeText(long).segments).toBe(2);

    // What a sender-worker does: one gateway request per message, 25 in flight.
    const results = [];
    for (let i = 0; i < all.length; i += 25) {
      results.push(...(await Promise.all(all.slice(i, i + 25).map((m) => driver.send({ id: m.id, to: m.to, text: m.text })))));
    }
    expect(results.every((r) => r.kind === "accepted")).toBe(true);

    const ids = all.map((m) => m.id);
    const settled = () =>
      ingest.database.db
        .select({ status: messages.status, n: count() })
        .from(messages)
        .where(inArray(messages.id, ids))
        .groupBy(messages.status);
    const byStatus = await waitFor(
      async () => {
        const rows = await settled();
        const terminal = rows.filter((r) => r.status === "delivered" || r.status === "failed").reduce((s, r) => s + r.n, 0);
        return terminal === TOTAL ? Object.fromEntries(rows.map((r) => [r.status, r.n])) : null;
      },
      { timeoutMs: 45_000, intervalMs: 200, message: "every message delivered or failed" },
    );

    // Exactly as the simulator decided, message by message.
    const stats = gateway.sim.stats();
    expect(byStatus).toEqual({ delivered: stats.outcomes.delivered, failed: stats.outcomes.failed });
    expect(stats.outcomes.failed).toBeGreaterThan(0);
    expect(stats.outcomes.delivered).toBeGreaterThan(0);
    for (const m of all.slice(0, 100)) {
      const state = ((await gateway.call("GET", `/messages/${m.id}`)).body as { state: string }).state;
      const [row] = await ingest.database.db.select().from(messages).where(eq(messages.id, m.id));
      expect(row?.status).toBe(state.toLowerCase());
      if (row?.status === "delivered") expect(row.partsDelivered).toBe(m.segments);
      if (row?.status === "failed") expect(row.error).toBeTruthy();
    }

    // Every transition published, and counted once into the user's buckets.
    await waitFor(
      async () => {
        const [{ n }] = (await ingest.database.db
          .select({ n: count() })
          .from(messageEvents)
          .where(and(eq(messageEvents.userId, user.id), isNull(messageEvents.publishedAt)))) as [{ n: number }];
        return n === 0;
      },
      { timeoutMs: 15_000, message: "outbox drained" },
    );
    const events = await ingest.database.db
      .select({ status: messageEvents.status, n: count() })
      .from(messageEvents)
      .where(eq(messageEvents.userId, user.id))
      .groupBy(messageEvents.status);
    const expected = Object.fromEntries(events.map((e) => [e.status, e.n]));
    // A delivery report that overtook the sent report leaves no `sent` event; the metrics
    // count the message as sent all the same (monotone funnel): every delivered one was sent.
    const [reachedSent] = await ingest.database.db
      .select({ n: count() })
      .from(messages)
      .where(and(inArray(messages.id, ids), or(isNotNull(messages.sentAt), isNotNull(messages.deliveredAt))));
    expected.sent = reachedSent!.n;
    expect(expected.delivered).toBe(byStatus.delivered);
    expect(expected.failed).toBe(byStatus.failed);
    const sorted = (o: Record<string, number>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
    const metrics = await waitFor(
      async () => {
        const rows = await ingest.database.db
          .select({ status: metricsBuckets.status, n: sql<number>`sum(${metricsBuckets.count})::int` })
          .from(metricsBuckets)
          .where(eq(metricsBuckets.userId, user.id))
          .groupBy(metricsBuckets.status);
        const got = Object.fromEntries(rows.map((r) => [r.status, r.n]));
        return sorted(got) === sorted(expected) ? got : null;
      },
      { timeoutMs: 15_000, message: "metrics buckets equal the transitions per status" },
    );
    expect(metrics.delivered).toBe(byStatus.delivered);
    expect(metrics.failed).toBe(byStatus.failed);
  }, 90_000);
});
