import { BENCH_SECRETS, serviceEnv } from "../harness/env";
import type { Cleanup } from "../harness/cleanup";
import { startChildServer } from "../harness/child";
import { okPerSecond, runLoad } from "../harness/load";
import { runPaced } from "../harness/paced";
import { ratioCheck, type Comparison, type StageResult } from "../harness/report";
import { createPool, insertMessages, insertUser } from "../harness/rows";
import { describeCpu, meterCpu } from "../harness/cpu";
import { samplePgActivity } from "../harness/pg-activity";
import { meanBetween, scrapeHistogram } from "../harness/prom";
import { sampleRss } from "../harness/rss";
import { openScratch } from "../harness/scratch";
import { startServices, type StageContext } from "../harness/services";
import { webhookSource } from "../harness/webhooks";

const CONNECTIONS = 50;
const FIXED_RATE = 1_000;
const PATH = "/webhooks/sms-gate";
const WARM_UP = 2_000;

/**
 * Signed webhooks applied per second by webhook-ingest under autocannon (50 connections), each a
 * real `sms:sent`/`sms:delivered` of a stored `accepted` message with a unique envelope id;
 * against a bare express endpoint (raw body, JSON.parse, 200) in its own process. Then p50/p99
 * at a fixed offered 1,000/s, evenly spaced and open loop (runPaced), for both servers. Only the
 * simulator (for registration) and webhook-ingest run.
 */
export async function webhooksStage(ctx: StageContext): Promise<StageResult> {
  const started = performance.now();
  const seconds = Math.max(4, 2 * Math.round(5 * Math.min(1, ctx.scale * 2)));
  // Two webhooks per message; enough that even 8,000/s under full load never runs out.
  const pool = Math.ceil((WARM_UP + 8_000 * seconds + FIXED_RATE * (seconds + 1)) / 2);
  const { databaseUrl, database, queuePrefix } = await openScratch("webhooks", ctx.cleanup);
  const db = createPool(databaseUrl);
  ctx.cleanup.defer("close bench pool", () => db.end());
  const userId = await insertUser(db);
  const ids = await insertMessages(db, userId, pool, "accepted");

  const bareExpress = await startBareExpress(ctx.cleanup);
  const bareUrl = bareExpress.url;
  const bareSource = webhookSource({ path: PATH, messageIds: ids, signingKey: BENCH_SECRETS.SMSGATE_WEBHOOK_SIGNING_KEY, deviceId: BENCH_SECRETS.SMSGATE_DEVICE_ID });
  await runLoad({ url: bareUrl, source: bareSource, connections: CONNECTIONS, amount: WARM_UP });

  const { system, shutdown } = await startServices(ctx, "webhooks", serviceEnv(databaseUrl, queuePrefix), ["gateway-simulator", "webhook-ingest"]);
  const url = `${system.urls["webhook-ingest"]}${PATH}`;
  const rss = sampleRss({ "webhook-ingest": system.pids["webhook-ingest"] });
  // Warm-up on messages of their own; they count in the applied total below.
  const source = webhookSource({ path: PATH, messageIds: ids, signingKey: BENCH_SECRETS.SMSGATE_WEBHOOK_SIGNING_KEY, deviceId: BENCH_SECRETS.SMSGATE_DEVICE_ID });
  const warm = await runLoad({ url, source, connections: CONNECTIONS, amount: WARM_UP });

  // Full load, interleaved B-I-B-I-B (bare quarter, ingest half, bare half, ingest half, bare
  // quarter): both servers stay up, one is loaded at a time, and each side gets `seconds` in
  // all. On a shared machine whose speed drifts over tens of seconds, windows this close
  // weigh on both sides alike (A-B-A with 20 s between the halves saw the baseline move 40%).
  const pgActivity = ctx.profile ? await samplePgActivity(databaseUrl, database) : undefined;
  const metricsUrl = `${system.urls["webhook-ingest"]}/metrics`;
  const BATCH_SIZE = "inboxerr_webhook_batch_size";
  const BATCH_SECONDS = "inboxerr_webhook_batch_duration_seconds";
  const batchAtStart = await scrapeHistogram(metricsUrl, BATCH_SIZE);
  const secondsAtStart = await scrapeHistogram(metricsUrl, BATCH_SECONDS);
  const bare = (quarters: number) => runLoad({ url: bareUrl, source: bareSource, connections: CONNECTIONS, durationSeconds: (seconds * quarters) / 4 });
  const ingest = () => runLoad({ url, source, connections: CONNECTIONS, durationSeconds: seconds / 2 });
  let meter = meterCpu({ "bare express": bareExpress.pid }, database);
  const bareRuns = [await bare(1)];
  const bareCpu = meter.stop();
  meter = meterCpu({ "webhook-ingest": system.pids["webhook-ingest"] }, database);
  const ingestRuns = [await ingest()];
  const ingestCpu = meter.stop();
  bareRuns.push(await bare(2));
  ingestRuns.push(await ingest());
  bareRuns.push(await bare(1));
  const batchAfterFull = await scrapeHistogram(metricsUrl, BATCH_SIZE);
  const secondsAfterFull = await scrapeHistogram(metricsUrl, BATCH_SECONDS);
  if (pgActivity) ctx.log(await pgActivity.stop());

  // Then latency at a fixed offered rate, the baseline right before the service.
  // Evenly spaced and open loop (runPaced): autocannon's overallRate would send each second's
  // 1,000 in a burst at its top, so the figure would be a full-load tail, not this rate's.
  const paced = (target: string, src: typeof source) =>
    runPaced({ url: target, source: src, rate: FIXED_RATE, durationSeconds: seconds, connections: CONNECTIONS });
  const bareFixed = await paced(bareUrl, bareSource);
  const fixed = await paced(url, source);
  const batchAfterFixed = await scrapeHistogram(metricsUrl, BATCH_SIZE);
  const secondsAfterFixed = await scrapeHistogram(metricsUrl, BATCH_SECONDS);
  const batchFull = meanBetween(batchAtStart, batchAfterFull);
  const batchFixed = meanBetween(batchAfterFull, batchAfterFixed);
  // What a webhook's answer waits for besides HTTP and the queue for a batch slot.
  const statementMs = (a: typeof secondsAtStart, b: typeof secondsAtStart) => {
    const mean = meanBetween(a, b);
    return mean === undefined ? undefined : mean * 1000;
  };
  const statementFull = statementMs(secondsAtStart, secondsAfterFull);
  const statementFixed = statementMs(secondsAfterFull, secondsAfterFixed);
  const rssMb = rss.stop();
  await shutdown();

  const rate = (runs: Awaited<ReturnType<typeof runLoad>>[]) =>
    runs.reduce((n, r) => n + r["2xx"], 0) / runs.reduce((t, r) => t + r.duration, 0);
  const full = ingestRuns[1]!;
  const sent = [warm, ...ingestRuns];
  const ok = sent.reduce((n, r) => n + r["2xx"], 0) + fixed.ok + fixed.warmUp.ok;
  const refused = sent.reduce((n, r) => n + r.non2xx + r.errors, 0) + fixed.non2xx + fixed.errors + fixed.warmUp.non2xx + fixed.warmUp.errors;
  const { rows } = await db.query<{ envelopes: number; delivered: number; sent: number }>(
    `select (select count(*) from gateway_webhook_events)::int as envelopes,
            count(*) filter (where status = 'delivered')::int as delivered,
            count(*) filter (where status = 'sent')::int as sent from messages`,
  );
  const stored = rows[0]!;
  const figure = rate(ingestRuns);
  const baseline = rate(bareRuns);
  const comparison: Comparison = {
    figure: { label: "webhook-ingest, applied (2xx)", value: figure, unit: "webhooks/s" },
    baseline: { label: "bare express: raw body + JSON.parse + 200", value: baseline, unit: "requests/s" },
    target: 0.3,
  };
  const p99 = fixed.latency.p99;
  return {
    stage: "webhooks",
    workload: `${seconds} s at ${CONNECTIONS} connections interleaved with the baseline, then ${seconds} s offered at ${FIXED_RATE.toLocaleString("en-US")}/s evenly spaced (open loop); signed sms:sent + sms:delivered of ${pool.toLocaleString("en-US")} stored messages`,
    comparisons: [comparison],
    extra: [
      { label: `latency p50 at ${FIXED_RATE}/s offered`, value: fixed.latency.p50, unit: "ms" },
      { label: `latency p99 at ${FIXED_RATE}/s offered`, value: p99, unit: "ms" },
      { label: `achieved rate at ${FIXED_RATE}/s offered`, value: fixed.ok / fixed.duration, unit: "webhooks/s" },
      { label: "latency p50 under full load (second half)", value: full.latency.p50, unit: "ms" },
      { label: "latency p99 under full load (second half)", value: full.latency.p99, unit: "ms" },
      { label: "webhook-ingest, first / second half", value: okPerSecond(ingestRuns[0]!), unit: `/ ${Math.round(okPerSecond(ingestRuns[1]!)).toLocaleString("en-US")} webhooks/s` },
      { label: "bare express, windows 1 / 2 / 3", value: okPerSecond(bareRuns[0]!), unit: `/ ${bareRuns.slice(1).map((r) => Math.round(okPerSecond(r)).toLocaleString("en-US")).join(" / ")} requests/s` },
      ...(batchFull === undefined ? [] : [{ label: "webhooks per database statement under full load, mean", value: batchFull, unit: "" }]),
      ...(batchFixed === undefined ? [] : [{ label: `webhooks per database statement at ${FIXED_RATE}/s, mean`, value: batchFixed, unit: "" }]),
      ...(statementFull === undefined ? [] : [{ label: "batch statement time under full load, mean", value: statementFull, unit: "ms" }]),
      ...(statementFixed === undefined ? [] : [{ label: `batch statement time at ${FIXED_RATE}/s, mean`, value: statementFixed, unit: "ms" }]),
      { label: `bare express p50 at ${FIXED_RATE}/s offered`, value: bareFixed.latency.p50, unit: "ms" },
      { label: `bare express p99 at ${FIXED_RATE}/s offered`, value: bareFixed.latency.p99, unit: "ms" },
      // The generator shares the 2 CPUs with what it measures: what it takes is printed.
      { label: `load generator CPU per request at ${FIXED_RATE}/s`, value: Math.round(fixed.clientCpuMsPerRequest * 1000), unit: "µs" },
    ],
    rssMb,
    checks: [
      ratioCheck("webhooks", comparison),
      { target: `p99 < 50 ms at ${FIXED_RATE}/s`, pass: p99 < 50 && fixed.ok / fixed.duration >= FIXED_RATE * 0.95, actual: `${p99} ms (p50 ${fixed.latency.p50} ms)` },
      {
        target: "every webhook answered 2xx and recorded once",
        // A duration run ends with requests in flight: stored, but never counted by autocannon.
        pass: refused === 0 && stored.envelopes >= ok && stored.envelopes <= source.built(),
        actual: `${ok} 2xx, ${refused} refused or errored, ${stored.envelopes} envelopes stored, ${stored.delivered} messages delivered, ${stored.sent} sent`,
      },
    ],
    elapsedMs: performance.now() - started,
    notes: [
      describeCpu("webhook-ingest (first half)", ingestCpu, ingestRuns[0]!["2xx"], "webhooks"),
      describeCpu("baseline (first window)", bareCpu, bareRuns[0]!["2xx"], "requests"),
      ...(source.overflow() > 0 ? [`${source.overflow()} webhooks named unknown messages (the pool ran out)`] : []),
    ],
  };
}

/** The baseline server in its own process; resolves with its webhook URL. */
async function startBareExpress(cleanup: Cleanup): Promise<{ url: string; pid: number | undefined }> {
  const { port, pid } = await startChildServer(new URL("../baselines/bare-express.ts", import.meta.url), cleanup);
  return { url: `http://127.0.0.1:${port}${PATH}`, pid };
}
