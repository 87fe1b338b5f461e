import { randomBytes } from "node:crypto";
import { parseConfig } from "@inboxerr/config";
import { createQueue, createRedis, eventBulkJobs, QUEUE_NAMES, toEventJob, type MessageEventJob, type OutboxJobData } from "@inboxerr/contracts";
import { parseSecretsKey, sealSecret, transitionMany } from "@inboxerr/db";
import { generateWebhookSecret } from "@inboxerr/webhooks";
import type pg from "pg";
import { SERVICES, type ServiceName } from "../../../scripts/services";
import { rawWebhookWorker } from "../baselines/raw-webhook-worker";
import { getJson } from "../harness/api";
import { startChildServer } from "../harness/child";
import { describeCpu, meterCpu, sumCpu } from "../harness/cpu";
import { BENCH_SECRETS, redisUrl, serviceEnv } from "../harness/env";
import { runPaced } from "../harness/paced";
import { pollProgress } from "../harness/poll";
import { meanBetween, scrapeHistogram } from "../harness/prom";
import { ratioCheck, type Comparison, type StageResult } from "../harness/report";
import { createPool, insertMessages, insertUser } from "../harness/rows";
import { sampleRss } from "../harness/rss";
import { openScratch } from "../harness/scratch";
import { startServices, type StageContext } from "../harness/services";
import { webhookSource } from "../harness/webhooks";

// Typed loosely so this file compiles on a tree without the service; the stage says so at run time.
const DISPATCHER = "webhook-dispatcher" as string as ServiceName;
/** One endpoint per user, so the per-endpoint cap (10) times these is the dispatcher's 200. */
const ENDPOINTS = 20;
const PACED_RATE = 500;
const WARM_UP = 1_000;
const INGEST_PATH = "/webhooks/sms-gate";
const CONCURRENCY = parseConfig(["WEBHOOK_CONCURRENCY"], {}).WEBHOOK_CONCURRENCY;

type ReceiverStats = {
  deliveries: number;
  distinct: number;
  unsigned: number;
  unreadable: number;
  steadyRate: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
};

/**
 * Customers' webhooks out (issue 17, ADR 0023): deliveries per second from message events on
 * `webhook-events` to a local receiver answering 200 (node:http in its own process), by
 * webhook-dispatcher, against a bare BullMQ worker doing one signed POST per job to the same
 * receiver, A-B-A in the same run. Each event is a real outbox row: a message moved to
 * `delivered` by the status writer, its job put on the queue while the queue is paused, so the
 * window is the drain of a backlog. Then event → delivery latency at 500 events/s offered,
 * evenly spaced and open loop: signed sms:sent / sms:delivered webhooks into webhook-ingest
 * (runPaced), whose status writes and outbox publish make the events, timed from each event's
 * occurred_at to its arrival at the receiver.
 */
export async function webhooksOutStage(ctx: StageContext): Promise<StageResult> {
  if (!SERVICES.some((s) => s.name === DISPATCHER)) {
    throw new Error(`this tree has no ${DISPATCHER} in scripts/services.ts: the webhooks-out stage measures it`);
  }
  const started = performance.now();
  const total = Math.max(2_000, Math.round(20_000 * ctx.scale));
  const seconds = Math.max(4, Math.round(10 * ctx.scale));
  const pacedWarmUp = 2;
  const { databaseUrl, database, queuePrefix } = await openScratch("webhooks-out", ctx.cleanup);
  const db = createPool(databaseUrl);
  ctx.cleanup.defer("close bench pool", () => db.end());

  const receiver = await startChildServer(new URL("../baselines/webhook-receiver.ts", import.meta.url), ctx.cleanup);
  const receiverUrl = `http://127.0.0.1:${receiver.port}`;
  const urls = Array.from({ length: ENDPOINTS }, (_, k) => `${receiverUrl}/hooks/${k}`);
  const secret = generateWebhookSecret();
  const secretsKey = randomBytes(32).toString("base64");
  const users: string[] = [];
  for (const url of urls) {
    const userId = await insertUser(db);
    users.push(userId);
    await db.query("insert into webhook_endpoints (user_id, url, secret) values ($1, $2, $3)", [
      userId,
      url,
      sealSecret(parseSecretsKey(secretsKey), "webhook_endpoints.secret", secret),
    ]);
  }
  // Two events per paced message (sent, delivered); a margin so the pool never runs out.
  const pacedMessages = Math.ceil((PACED_RATE * (pacedWarmUp + seconds) * 1.1) / 2);
  const warmIds = await acceptedMessages(db, users, WARM_UP);
  const windowIds = await acceptedMessages(db, users, total);
  const pacedIds = await acceptedMessages(db, users, pacedMessages);

  const env = {
    ...serviceEnv(databaseUrl, queuePrefix),
    SECRETS_KEY: secretsKey,
    WEBHOOK_ALLOW_INSECURE: "true",
    WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
  };
  const { system, shutdown } = await startServices(ctx, "webhooks-out", env, ["gateway-simulator", "webhook-ingest", DISPATCHER]);
  const dispatcherPid = system.pids[DISPATCHER];
  const rss = sampleRss({ [DISPATCHER]: dispatcherPid, receiver: receiver.pid });
  const metricsUrl = `${system.urls[DISPATCHER]}/metrics`;
  const producer = createRedis(redisUrl(), "producer");
  ctx.cleanup.defer("close producer", async () => producer.disconnect());
  const queue = createQueue<OutboxJobData>(QUEUE_NAMES.webhookEvents, { connection: producer, prefix: queuePrefix });
  ctx.cleanup.defer("close webhook-events queue", () => queue.close());
  await queue.waitUntilReady();

  const reset = () => fetch(`${receiverUrl}/__reset`, { method: "POST" }).then((r) => r.arrayBuffer());
  const stats = () => getJson<ReceiverStats>(`${receiverUrl}/__stats`);
  /** Waits until the receiver has `expected` distinct deliveries (or progress stalls). */
  const settle = async (expected: number, what: string) => {
    const p = await pollProgress(
      async () => {
        const s = await stats();
        return { done: s.distinct, total: expected, stats: s };
      },
      { timeoutMs: 300_000, stallMs: 60_000, intervalMs: 200 },
    );
    if (!p.complete) ctx.log(`${what}: ${p.done} of ${expected} delivered: ${p.why}\n${system.logs(DISPATCHER)}`);
    return p.stats;
  };

  /** The dispatcher's window: the events of `ids` queued while paused, then drained. */
  const dispatch = async (ids: readonly string[]) => {
    const jobs = await deliveredEvents(db, ids);
    await queue.pause();
    for (let i = 0; i < jobs.length; i += 5_000) await queue.addBulk(eventBulkJobs(QUEUE_NAMES.webhookEvents, jobs.slice(i, i + 5_000)));
    await reset();
    const meter = meterCpu({ [DISPATCHER]: dispatcherPid, receiver: receiver.pid }, database);
    await queue.resume();
    const s = await settle(jobs.length, "dispatcher");
    return { stats: s, cpu: meter.stop(), events: jobs.length };
  };
  /** The baseline's window: its own queue, filled before its worker starts. */
  const baseline = async (part: string, n: number) => {
    await reset();
    const meter = meterCpu({ receiver: receiver.pid }, database);
    const run = await rawWebhookWorker({ redisUrl: redisUrl(), prefix: `${queuePrefix}:raw-${part}`, urls, secret, total: n, concurrency: CONCURRENCY, timeoutMs: 300_000 });
    const s = await settle(n, "baseline");
    return { stats: s, cpu: meter.stop(), failed: run.failed };
  };

  // Warm-up on both sides (JIT, connections, the dispatcher's endpoint cache), not counted.
  await dispatch(warmIds);
  await baseline("warm-up", WARM_UP);
  const durationAtStart = await scrapeHistogram(metricsUrl, "inboxerr_webhook_delivery_duration_seconds");
  const before = await baseline("a", Math.ceil(total / 2));
  const out = await dispatch(windowIds);
  const durationAfter = await scrapeHistogram(metricsUrl, "inboxerr_webhook_delivery_duration_seconds");
  const after = await baseline("b", Math.ceil(total / 2));

  // Latency at a fixed offered rate, through webhook-ingest: a warm-up run first (its
  // deliveries settle before the clock starts), then the measured one, from a clean window.
  const ingestUrl = `${system.urls["webhook-ingest"]}${INGEST_PATH}`;
  const source = webhookSource({ path: INGEST_PATH, messageIds: pacedIds, signingKey: BENCH_SECRETS.SMSGATE_WEBHOOK_SIGNING_KEY, deviceId: BENCH_SECRETS.SMSGATE_DEVICE_ID });
  const customerEvents = async (since: Date) =>
    (
      await db.query<{ n: number }>(
        "select count(*)::int as n from message_events where message_id = any($1::uuid[]) and status in ('sent', 'delivered') and created_at >= $2",
        [pacedIds, since],
      )
    ).rows[0]!.n;
  await reset();
  const epoch = new Date(0);
  await runPaced({ url: ingestUrl, source, rate: PACED_RATE, durationSeconds: pacedWarmUp, connections: 50, warmUpSeconds: 0 });
  await settle(await customerEvents(epoch), "paced warm-up");
  const { rows } = await db.query<{ now: Date }>("select now()");
  const since = rows[0]!.now;
  await reset();
  const pacedMeter = meterCpu({ [DISPATCHER]: dispatcherPid, "webhook-ingest": system.pids["webhook-ingest"], receiver: receiver.pid }, database);
  const paced = await runPaced({ url: ingestUrl, source, rate: PACED_RATE, durationSeconds: seconds, connections: 50, warmUpSeconds: 0 });
  const pacedEvents = await customerEvents(since);
  const pacedStats = await settle(pacedEvents, "paced run");
  const pacedCpu = pacedMeter.stop();
  const rssMb = rss.stop();
  await shutdown();

  const baselineRate = (before.stats.steadyRate + after.stats.steadyRate) / 2;
  const comparison: Comparison = {
    figure: { label: "webhook-dispatcher, events → deliveries at the receiver (steady)", value: out.stats.steadyRate, unit: "deliveries/s" },
    baseline: { label: "bare BullMQ worker, one signed POST per job (steady)", value: baselineRate, unit: "deliveries/s" },
    target: 0.5,
  };
  const attemptMs = meanBetween(durationAtStart, durationAfter);
  const p99 = pacedStats.latencyMs.p99;
  const exactlyOnce = (s: ReceiverStats, expected: number) => s.distinct === expected && s.deliveries === expected && s.unsigned === 0;
  return {
    stage: "webhooks-out",
    workload:
      `${total.toLocaleString("en-US")} message events drained by the dispatcher between two baseline halves of ${Math.ceil(total / 2).toLocaleString("en-US")}, ` +
      `${ENDPOINTS} endpoints (one per user) on one local receiver; then ${seconds} s at ${PACED_RATE}/s offered (sms:sent/delivered into webhook-ingest, open loop)`,
    comparisons: [comparison],
    extra: [
      { label: "baseline before / after the dispatcher", value: before.stats.steadyRate, unit: `/ ${Math.round(after.stats.steadyRate).toLocaleString("en-US")} deliveries/s` },
      ...(attemptMs === undefined ? [] : [{ label: "dispatcher's attempt duration, mean (its own histogram)", value: attemptMs * 1000, unit: "ms" }]),
      { label: `event → delivery p50 at ${PACED_RATE}/s offered`, value: pacedStats.latencyMs.p50 ?? Number.NaN, unit: "ms" },
      { label: `event → delivery p99 at ${PACED_RATE}/s offered`, value: p99 ?? Number.NaN, unit: "ms" },
      { label: `event → delivery max at ${PACED_RATE}/s offered`, value: pacedStats.latencyMs.max ?? Number.NaN, unit: "ms" },
      { label: `webhook-ingest p99 at ${PACED_RATE}/s offered (the events' source)`, value: paced.latency.p99, unit: "ms" },
      { label: `deliveries/s at ${PACED_RATE}/s offered (steady)`, value: pacedStats.steadyRate, unit: "deliveries/s" },
    ],
    rssMb,
    checks: [
      ratioCheck("webhooks-out", comparison),
      {
        target: "every event delivered once, signed (dispatcher window)",
        pass: exactlyOnce(out.stats, out.events),
        actual: `${out.events} events, ${out.stats.deliveries} deliveries, ${out.stats.distinct} distinct webhook-ids, ${out.stats.unsigned} unsigned`,
      },
      {
        target: `every event at ${PACED_RATE}/s delivered once`,
        pass: exactlyOnce(pacedStats, pacedEvents),
        actual: `${pacedEvents} events, ${pacedStats.deliveries} deliveries, ${pacedStats.distinct} distinct webhook-ids (p99 ${p99} ms)`,
      },
      {
        // Else the latency above is not at the offered rate: the events' source fell behind.
        target: `events made at ≥ 95% of ${PACED_RATE}/s (webhook-ingest kept up)`,
        pass: paced.ok / paced.duration >= PACED_RATE * 0.95,
        actual: `${Math.round(paced.ok / paced.duration)}/s: ${paced.ok} 2xx, ${paced.non2xx + paced.errors} refused or errored, ingest p99 ${paced.latency.p99} ms`,
      },
      {
        target: "the baseline delivered every job",
        pass: before.failed + after.failed === 0 && before.stats.distinct === Math.ceil(total / 2) && after.stats.distinct === Math.ceil(total / 2),
        actual: `${before.stats.distinct} + ${after.stats.distinct} delivered, ${before.failed + after.failed} failed`,
      },
    ],
    elapsedMs: performance.now() - started,
    notes: [
      describeCpu("dispatcher window", out.cpu, out.events, "deliveries"),
      describeCpu("baseline (both halves)", sumCpu([before.cpu, after.cpu]), 2 * Math.ceil(total / 2), "deliveries"),
      describeCpu(`at ${PACED_RATE}/s`, pacedCpu, pacedEvents, "events"),
    ],
  };
}

/** `n` accepted messages spread over the users in turn (so over their endpoints), ids interleaved. */
async function acceptedMessages(db: pg.Pool, users: readonly string[], n: number): Promise<string[]> {
  const per = await Promise.all(users.map((u) => insertMessages(db, u, Math.ceil(n / users.length), "accepted")));
  const ids: string[] = [];
  for (let i = 0; ids.length < n; i++) ids.push(per[i % users.length]![Math.floor(i / users.length)]!);
  return ids;
}

/**
 * Moves the messages to `delivered` through the status writer (one outbox row each) and
 * returns the rows as the outbox publisher would queue them, stamped published as it would.
 */
async function deliveredEvents(db: pg.Pool, ids: readonly string[]): Promise<MessageEventJob[]> {
  const jobs: MessageEventJob[] = [];
  for (let i = 0; i < ids.length; i += 1_000) {
    const events = await transitionMany(db, ids.slice(i, i + 1_000).map((messageId) => ({ messageId, to: "delivered" as const })));
    await db.query("update message_events set published_at = now() where id = any($1::uuid[])", [events.map((e) => e.id)]);
    jobs.push(...events.map(toEventJob));
  }
  return jobs;
}
