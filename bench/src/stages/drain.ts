import { createQueue, createRedis, enqueueSends, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { rawSendWorker, WARM_UP_SHARE } from "../baselines/raw-send-worker";
import { getJson } from "../harness/api";
import { BENCH_SECRETS, redisUrl, SENDER_CONCURRENCY, serviceEnv } from "../harness/env";
import { pollProgress } from "../harness/poll";
import { scrapeHistogram } from "../harness/prom";
import { ratioCheck, type Comparison, type StageResult } from "../harness/report";
import { createPool, insertMessages, insertUser } from "../harness/rows";
import { describeCpu, meterCpu } from "../harness/cpu";
import { samplePgActivity } from "../harness/pg-activity";
import { sampleRss } from "../harness/rss";
import { openScratch } from "../harness/scratch";
import { startServices, type StageContext } from "../harness/services";

type Stats = { totalSends: number; duplicates: number; sendsById: Record<string, number> };

/**
 * Messages per second from `queued` to `accepted` by the sender-worker against the simulator at
 * zero latency, with the queue filled before the sender starts; against a raw BullMQ worker
 * whose job is only the gateway POST. Only the simulator and the sender run.
 */
export async function drainStage(ctx: StageContext): Promise<StageResult> {
  const started = performance.now();
  const total = Math.max(1_000, Math.round(50_000 * ctx.scale));
  const { databaseUrl, database, queuePrefix } = await openScratch("drain", ctx.cleanup);
  const env = serviceEnv(databaseUrl, queuePrefix);
  const gateway = await startServices(ctx, "drain", env, ["gateway-simulator"]);
  const simulator = gateway.system.urls["gateway-simulator"];
  const gatewayEnv = { ...env, SMSGATE_URL: gateway.system.env.SMSGATE_URL };

  // The baseline runs half before and half after the sender (A-B-A), so a change in the
  // machine's background load during the stage weighs on both sides alike.
  const runBaseline = (part: string, n = Math.ceil(total / 2)) =>
    rawSendWorker({
      redisUrl: redisUrl(),
      prefix: `${queuePrefix}:raw-${part}`,
      gatewayUrl: gateway.system.env.SMSGATE_URL!,
      username: BENCH_SECRETS.SMSGATE_USERNAME,
      password: BENCH_SECRETS.SMSGATE_PASSWORD,
      deviceId: BENCH_SECRETS.SMSGATE_DEVICE_ID,
      total: n,
      concurrency: SENDER_CONCURRENCY,
      timeoutMs: 180_000,
    });
  await runBaseline("warm-up", 1_000); // this process's JIT and sockets, not counted
  let meter = meterCpu({ "gateway-simulator": gateway.system.pids["gateway-simulator"] }, database);
  const before = await runBaseline("a");
  const baselineCpu = meter.stop();
  await fetch(`${simulator}/simulator/reset`, { method: "POST" });

  // The rows as the api would have left them, and their jobs, before the sender exists.
  const pool = createPool(databaseUrl);
  ctx.cleanup.defer("close bench pool", () => pool.end());
  const userId = await insertUser(pool);
  const ids = await insertMessages(pool, userId, total, "queued");
  const producer = createRedis(redisUrl(), "producer");
  const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection: producer, prefix: queuePrefix });
  await queue.waitUntilReady();
  for (let i = 0; i < ids.length; i += 10_000) await enqueueSends(queue, ids.slice(i, i + 10_000).map((id) => ({ id, priority: 0 })));
  await queue.close();
  producer.disconnect();

  const spawned = performance.now();
  const sender = await startServices(ctx, "drain", gatewayEnv, ["sender-worker"]);
  const rss = sampleRss({ "sender-worker": sender.system.pids["sender-worker"] });
  const pgActivity = ctx.profile ? await samplePgActivity(databaseUrl, database) : undefined;
  meter = meterCpu({ "sender-worker": sender.system.pids["sender-worker"], "gateway-simulator": gateway.system.pids["gateway-simulator"] }, database);
  const progress = async () => {
    const { rows } = await pool.query<{ accepted: number; otherwise: number }>(
      "select count(*) filter (where status = 'accepted')::int as accepted, count(*) filter (where status not in ('queued', 'sending', 'accepted'))::int as otherwise from messages",
    );
    return rows[0]!;
  };
  const done = await pollProgress(
    async () => {
      const { accepted, otherwise } = await progress();
      return { done: accepted + otherwise, total, accepted, otherwise };
    },
    { timeoutMs: 240_000, stallMs: 60_000, intervalMs: 1_000 },
  ).then((p) => {
    if (!p.complete) ctx.log(`sender accepted ${p.accepted} of ${total}: ${p.why}\n${sender.system.logs()}`);
    return p;
  });
  const wallSeconds = (performance.now() - spawned) / 1000;
  const senderCpu = meter.stop();
  if (pgActivity) ctx.log(await pgActivity.stop());
  const rssMb = rss.stop();
  // Steady state by the rows' own timestamps, as the baseline is taken: from the first 10%
  // accepted (boot and warm-up excluded) to the last.
  const span = await pool.query<{ seconds: number; n: number }>(
    `select extract(epoch from max(accepted_at) - percentile_disc($1::float8) within group (order by accepted_at))::float8 as seconds,
            (count(*) - 1 - floor(count(*) * $1::float8))::int as n
     from messages where status = 'accepted'`,
    [WARM_UP_SHARE],
  );
  const stats = await getJson<Stats>(`${simulator}/simulator/stats`);
  // Where a message's time goes, for a miss: the sender's own histograms, and the rows.
  const metricsUrl = `${sender.system.urls["sender-worker"]}/metrics`;
  const gatewayCall = await scrapeHistogram(metricsUrl, "inboxerr_gateway_request_duration_seconds");
  const statusBatch = await scrapeHistogram(metricsUrl, "inboxerr_sender_status_batch_size");
  const perMessage = await pool.query<{ p50: number; p99: number }>(
    `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99
     from (select extract(epoch from accepted_at - sending_at) * 1000 as ms from messages where status = 'accepted') t`,
  );
  await sender.shutdown();
  const after = await runBaseline("b");
  const baseline = (before.rate + after.rate) / 2;
  await gateway.shutdown();

  const figure = (span.rows[0]?.n ?? 0) / Math.max(span.rows[0]?.seconds ?? 0, 0.001);
  const comparison: Comparison = {
    figure: { label: "sender-worker queued → accepted (steady)", value: figure, unit: "msg/s" },
    baseline: { label: "raw BullMQ worker, one gateway POST per job (steady)", value: baseline, unit: "jobs/s" },
    target: 0.5,
  };
  const resent = Object.values(stats.sendsById).filter((n) => n > 1).length;
  return {
    stage: "drain",
    workload: `${total.toLocaleString("en-US")} queued messages, simulator at zero latency, concurrency ${SENDER_CONCURRENCY}`,
    comparisons: [comparison],
    extra: [
      { label: "baseline before / after the sender", value: before.rate, unit: `/ ${Math.round(after.rate)} jobs/s` },
      { label: "baseline gateway POST, mean", value: (before.meanPostMs + after.meanPostMs) / 2, unit: "ms" },
      { label: "wall time from sender spawn to last accepted", value: wallSeconds, unit: "s" },
      { label: "per message, claimed (sending) → accepted, p50", value: perMessage.rows[0]?.p50 ?? 0, unit: "ms" },
      { label: "per message, claimed (sending) → accepted, p99", value: perMessage.rows[0]?.p99 ?? 0, unit: "ms" },
      ...(gatewayCall ? [{ label: "gateway POST as the sender times it, mean", value: gatewayCall.mean * 1000, unit: "ms" }] : []),
      ...(statusBatch ? [{ label: "status writes per database round trip, mean", value: statusBatch.mean, unit: "" }] : []),
      { label: "messages sent to the gateway more than once", value: resent, unit: "" },
    ],
    rssMb,
    checks: [
      ratioCheck("drain", comparison),
      {
        target: "every message accepted, each sent once",
        pass: done.accepted === total && stats.totalSends === total && resent === 0 && stats.duplicates === 0,
        actual: `${done.accepted} accepted, ${stats.totalSends} gateway sends, ${stats.duplicates} 409s, ${resent} ids sent twice`,
      },
    ],
    elapsedMs: performance.now() - started,
    notes: [describeCpu("sender", senderCpu, done.accepted, "messages"), describeCpu("baseline (first half)", baselineCpu, Math.ceil(total / 2), "jobs")],
  };
}
