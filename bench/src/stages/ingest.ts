import { createQueue, createRedis, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { openRawEnqueuer } from "../baselines/raw-addbulk";
import { bulkBody, postBulk, signUp } from "../harness/api";
import { redisUrl, serviceEnv } from "../harness/env";
import { ratioCheck, type Comparison, type StageResult } from "../harness/report";
import { describeCpu, meterCpu, sumCpu, type CpuReading } from "../harness/cpu";
import { samplePgActivity } from "../harness/pg-activity";
import { sampleRss } from "../harness/rss";
import { openScratch } from "../harness/scratch";
import { startServices, type StageContext } from "../harness/services";

const PER_REQUEST = 10_000;
const WARM_UP = 1_000;

/**
 * Recipients per second through POST /messages/bulk (validated, stored, enqueued), requests of
 * 10,000 one after another, against raw addBulk of as many send jobs on the same Redis. The two
 * alternate request by request, so both see the same background load on a shared machine.
 * Only the api runs: a sender draining the queue would compete for the same two CPUs.
 */
export async function ingestStage(ctx: StageContext): Promise<StageResult> {
  const started = performance.now();
  const total = Math.max(PER_REQUEST, Math.round((100_000 * ctx.scale) / PER_REQUEST) * PER_REQUEST);
  const perRequest = Math.min(PER_REQUEST, total);
  const { databaseUrl, database, queuePrefix } = await openScratch("ingest", ctx.cleanup);

  const { system, shutdown } = await startServices(ctx, "ingest", serviceEnv(databaseUrl, queuePrefix), ["api"]);
  const api = `${system.urls.api}/api/v1`;
  const rss = sampleRss({ api: system.pids.api });
  const auth = await signUp(api);
  // Warm-up: JIT, pools and prepared paths, not counted.
  await postBulk(api, auth, bulkBody(WARM_UP));
  const raw = await openRawEnqueuer({ redisUrl: redisUrl(), prefix: `${queuePrefix}:raw` });
  ctx.cleanup.defer("close raw enqueuer", () => raw.close());
  const bodies = Array.from({ length: total / perRequest }, (_, i) => bulkBody(perRequest, i * perRequest));
  let accepted = 0;
  const perCall: number[] = [];
  const pgActivity = ctx.profile ? await samplePgActivity(databaseUrl, database) : undefined;
  let rawMs = 0;
  const rawCpu: CpuReading[] = [];
  const apiCpu: CpuReading[] = [];
  for (const body of bodies) {
    let meter = meterCpu({}, database);
    rawMs += await raw.add(perRequest);
    rawCpu.push(meter.stop());
    meter = meterCpu({ api: system.pids.api }, database);
    const c0 = performance.now();
    const answer = await postBulk(api, auth, body);
    perCall.push(performance.now() - c0);
    apiCpu.push(meter.stop());
    accepted += answer.accepted;
  }
  const rssMb = rss.stop();
  if (pgActivity) ctx.log(await pgActivity.stop());
  await shutdown();
  const jobs = await countSendJobs(queuePrefix);

  const figure = accepted / (perCall.reduce((a, b) => a + b, 0) / 1000);
  const baseline = total / (rawMs / 1000);
  const comparison: Comparison = {
    figure: { label: "api POST /messages/bulk", value: figure, unit: "recipients/s" },
    baseline: { label: "raw BullMQ addBulk (enqueueSends, 4 × 2,500 at once)", value: baseline, unit: "jobs/s" },
    target: 0.5,
  };
  const sorted = [...perCall].sort((a, b) => a - b);
  return {
    stage: "ingest",
    workload: `${total.toLocaleString("en-US")} recipients in ${bodies.length} POST /messages/bulk of ${perRequest.toLocaleString("en-US")}, one at a time, alternating with the baseline`,
    comparisons: [comparison],
    extra: [
      { label: "bulk request time, median", value: sorted[Math.floor(sorted.length / 2)] ?? 0, unit: "ms" },
      { label: "bulk request time, slowest", value: sorted.at(-1) ?? 0, unit: "ms" },
    ],
    rssMb,
    checks: [
      ratioCheck("ingest", comparison),
      { target: "every recipient accepted", pass: accepted === total, actual: `${accepted} of ${total}` },
      // The api answers once the jobs are added; a job short means the sweeper would have to add it.
      { target: "every accepted recipient enqueued by the api", pass: jobs === total + WARM_UP, actual: `${jobs} jobs for ${total + WARM_UP} messages (warm-up included)` },
      { target: "api peak RSS < 300 MB", pass: (rssMb.api ?? 0) < 300, actual: `${(rssMb.api ?? 0).toFixed(0)} MB` },
    ],
    elapsedMs: performance.now() - started,
    notes: [describeCpu("api", sumCpu(apiCpu), total, "recipients"), describeCpu("baseline", sumCpu(rawCpu), total, "jobs")],
  };
}

async function countSendJobs(prefix: string): Promise<number> {
  const connection = createRedis(redisUrl(), "producer");
  const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection, prefix });
  try {
    const counts = await queue.getJobCounts("waiting", "prioritized", "delayed", "paused", "active");
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
