import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { Job, Queue, Worker } from "bullmq";
import { waitFor } from "@inboxerr/testing";
import { createQueue, createWorker } from "./factories";
import { createOutageGuard } from "./outage";
import { QUEUE_NAMES, type SmsSendJob } from "./queues";
import { createRedis } from "./redis";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const outageError = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const isOutage = (err: unknown) => (err as { code?: string }).code === "ECONNREFUSED";
let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** A queue of the test's own and a worker running `processor` behind a guard whose probe says `up()`. */
async function setup(up: () => boolean, processor: (job: Job<SmsSendJob>) => Promise<string>) {
  const producer = createRedis(url, "producer");
  const consumer = createRedis(url, "worker");
  const ctx = { prefix: `${process.env.QUEUE_PREFIX ?? "{t}"}:${randomUUID()}` };
  const queue: Queue<SmsSendJob> = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { ...ctx, connection: producer });
  const guard = createOutageGuard({ isOutage, probe: async () => { if (!up()) throw outageError(); }, probeIntervalMs: 50 });
  const worker: Worker<SmsSendJob> = createWorker<SmsSendJob>(QUEUE_NAMES.smsSend, guard.wrap(processor), { ...ctx, connection: consumer }, { concurrency: 5 });
  guard.attach(worker);
  cleanup.push(async () => {
    guard.stop();
    await worker.close(true);
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  });
  return { queue, guard };
}

describe("createOutageGuard", () => {
  it("pauses while the probe fails, returns the jobs unspent, and finishes them once it answers", async () => {
    let up = false;
    const { queue, guard } = await setup(() => up, async () => {
      if (!up) throw outageError();
      return "done";
    });
    const ids = Array.from({ length: 10 }, () => randomUUID());
    await queue.addBulk(ids.map((id) => ({ name: "send", data: { messageId: id }, opts: { jobId: id } })));
    await waitFor(() => guard.paused, { message: "paused on the outage" });
    await waitFor(async () => (await queue.getJobCounts("active")).active === 0, { message: "the jobs in flight went back" });
    const waiting = await queue.getJobs(["wait", "prioritized"]);
    expect(waiting.length).toBe(10);
    expect(waiting.every((j) => j.attemptsMade === 0 && !j.failedReason)).toBe(true);

    up = true;
    await waitFor(async () => (await queue.getJobCounts("completed")).completed === 10, { message: "all 10 done after the probe answered" });
    expect(guard.paused).toBe(false);
    expect((await queue.getJobCounts("failed")).failed).toBe(0);
  });

  it("fails a job as usual, spending an attempt, when the probe says the dependency answers", async () => {
    const { queue, guard } = await setup(() => true, async () => {
      throw outageError();
    });
    const id = randomUUID();
    await queue.add("send", { messageId: id }, { jobId: id, attempts: 1 });
    await waitFor(async () => (await queue.getJobCounts("failed")).failed === 1, { message: "the job failed" });
    const job = await queue.getJob(id);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBe("connect ECONNREFUSED 127.0.0.1:5432");
    expect(job?.stacktrace).toEqual([]);
    expect(guard.paused).toBe(false);
  });
});
