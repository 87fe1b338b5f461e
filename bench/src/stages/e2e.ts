import { rawSendWorker } from "../baselines/raw-send-worker";
import { bulkBody, getJson, postBulk, signUp } from "../harness/api";
import { BENCH_SECRETS, redisUrl, SENDER_CONCURRENCY, serviceEnv } from "../harness/env";
import { pollProgress } from "../harness/poll";
import type { StageResult } from "../harness/report";
import { describeCpu, meterCpu } from "../harness/cpu";
import { samplePgActivity } from "../harness/pg-activity";
import { scrapeHistogram } from "../harness/prom";
import { sampleRss } from "../harness/rss";
import { openScratch } from "../harness/scratch";
import { startServices, type StageContext } from "../harness/services";

type Counts = Partial<Record<string, number>>;
type Stats = { totalSends: number; duplicates: number; sendsById: Record<string, number>; outcomes: { delivered: number; failed: number } };

const FAILURE_RATE = 0.05;

/**
 * The whole system, five processes: two bulk calls of 10,000 until every message is delivered
 * or failed and counted by the metrics pipeline. Nothing may be lost or sent twice. Its
 * baseline is the raw POST-per-job worker's rate (the floor of the send work alone).
 */
export async function e2eStage(ctx: StageContext): Promise<StageResult> {
  const started = performance.now();
  const perCall = Math.max(1_000, Math.round(10_000 * ctx.scale));
  const total = perCall * 2;
  const { databaseUrl, database, queuePrefix } = await openScratch("e2e", ctx.cleanup);
  const env = { ...serviceEnv(databaseUrl, queuePrefix), SIMULATOR_FAILURE_RATE: String(FAILURE_RATE) };

  // The floor, on a simulator of its own so its sends raise no webhooks in the system below.
  const floorGateway = await startServices(ctx, "e2e-baseline", env, ["gateway-simulator"]);
  const { rate: baseline } = await rawSendWorker({
    redisUrl: redisUrl(),
    prefix: `${queuePrefix}:raw`,
    gatewayUrl: floorGateway.system.env.SMSGATE_URL!,
    username: BENCH_SECRETS.SMSGATE_USERNAME,
    password: BENCH_SECRETS.SMSGATE_PASSWORD,
    deviceId: BENCH_SECRETS.SMSGATE_DEVICE_ID,
    total,
    concurrency: SENDER_CONCURRENCY,
    timeoutMs: 120_000,
  });
  await floorGateway.shutdown();

  const { system, shutdown } = await startServices(ctx, "e2e", env, ["gateway-simulator", "webhook-ingest", "api", "sender-worker", "metrics-worker"]);
  const api = `${system.urls.api}/api/v1`;
  const rss = sampleRss(system.pids);
  const auth = await signUp(api);
  // Fails fast if the read side is missing, before any work is queued.
  await getJson(`${api}/metrics/summary?from=${new Date(Date.now() - 60_000).toISOString()}&to=${new Date().toISOString()}`, auth);
  const from = new Date(Date.now() - 60_000).toISOString();
  const to = () => new Date(Date.now() + 60_000).toISOString();

  const pgActivity = ctx.profile ? await samplePgActivity(databaseUrl, database) : undefined;
  const meter = meterCpu(system.pids, database);
  const t0 = performance.now();
  const batches: string[] = [];
  let accepted = 0;
  for (let i = 0; i < 2; i += 1) {
    const answer = await postBulk(api, auth, bulkBody(perCall, i * perCall));
    batches.push(answer.batchId);
    accepted += answer.accepted;
  }
  const enqueuedAt = performance.now();
  const progress = await pollProgress(
    async () => {
      const { counts } = await getJson<{ counts: Counts }>(`${api}/metrics/summary?from=${from}&to=${to()}`, auth);
      return { done: (counts.delivered ?? 0) + (counts.failed ?? 0), total: accepted };
    },
    { timeoutMs: 300_000, stallMs: 60_000, intervalMs: 250 },
  );
  const finished = progress.complete;
  if (!finished) ctx.log(`metrics counted ${progress.done} of ${accepted}: ${progress.why}\n${system.logs()}`);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.stop();
  if (pgActivity) ctx.log(await pgActivity.stop());

  // Settle briefly, then read every account of the run: rows, metrics, the gateway.
  await new Promise((r) => setTimeout(r, 1_000));
  const rows: Counts = {};
  for (const id of batches) {
    const b = await getJson<{ counts: Counts }>(`${api}/batches/${id}`, auth);
    for (const [status, n] of Object.entries(b.counts)) rows[status] = (rows[status] ?? 0) + (n ?? 0);
  }
  const summary = (await getJson<{ counts: Counts; deliveryRate: number | null }>(`${api}/metrics/summary?from=${from}&to=${to()}`, auth)).counts;
  const stats = await getJson<Stats>(`${system.urls["gateway-simulator"]}/simulator/stats`);
  // How well each stage batched its database work (names belong to the services; absent = skipped).
  const batching = [
    { label: "sender status writes per database round trip, mean", url: `${system.urls["sender-worker"]}/metrics`, name: "inboxerr_sender_status_batch_size" },
    { label: "webhooks per database statement, mean", url: `${system.urls["webhook-ingest"]}/metrics`, name: "inboxerr_webhook_batch_size" },
    { label: "events per metrics transaction, mean", url: `${system.urls["metrics-worker"]}/metrics`, name: "inboxerr_metrics_batch_size" },
  ];
  const batchMeans = await Promise.all(batching.map(async (b) => ({ label: b.label, value: (await scrapeHistogram(b.url, b.name))?.mean })));
  const rssMb = rss.stop();
  await shutdown();

  const delivered = rows.delivered ?? 0;
  const failed = rows.failed ?? 0;
  const lost = accepted - (delivered + failed);
  const duplicated = Object.values(stats.sendsById).filter((n) => n > 1).length;
  const metricsMatch = summary.delivered === delivered && summary.failed === failed;
  const figure = finished ? accepted / seconds : 0;
  return {
    stage: "e2e",
    workload: `${total.toLocaleString("en-US")} messages in 2 bulk calls → delivered/failed (simulator: 0 ms, ${FAILURE_RATE * 100}% fail) → counted in metrics`,
    comparisons: [
      {
        figure: { label: "bulk POST → counted in metrics", value: figure, unit: "msg/s" },
        baseline: { label: "raw BullMQ worker, one gateway POST per job", value: baseline, unit: "jobs/s" },
      },
    ],
    extra: [
      { label: "time for both bulk calls", value: (enqueuedAt - t0) / 1000, unit: "s" },
      { label: "time to the last message counted", value: seconds, unit: "s" },
      { label: "delivered", value: delivered, unit: "" },
      { label: "failed", value: failed, unit: "" },
      { label: "lost (accepted − delivered − failed)", value: lost, unit: "" },
      { label: "duplicated (simulator sendsById > 1)", value: duplicated, unit: "" },
      ...batchMeans.flatMap((b) => (b.value === undefined ? [] : [{ label: b.label, value: b.value, unit: "" }])),
    ],
    rssMb,
    checks: [
      { target: "end to end: nothing lost", pass: finished && lost === 0 && accepted === total, actual: `${lost} lost of ${accepted} accepted (${total} submitted)` },
      { target: "end to end: nothing duplicated", pass: duplicated === 0 && stats.duplicates === 0, actual: `${duplicated} ids sent more than once, ${stats.duplicates} 409s` },
      {
        target: "metrics count every message once",
        pass: metricsMatch && stats.outcomes.delivered === delivered && stats.outcomes.failed === failed,
        actual: `metrics ${summary.delivered ?? 0} delivered / ${summary.failed ?? 0} failed; rows ${delivered} / ${failed}; gateway ${stats.outcomes.delivered} / ${stats.outcomes.failed}`,
      },
      { target: "api peak RSS < 300 MB", pass: (rssMb.api ?? 0) < 300, actual: `${(rssMb.api ?? 0).toFixed(0)} MB` },
    ],
    elapsedMs: performance.now() - started,
    notes: [describeCpu("system", cpu, accepted, "messages")],
  };
}
