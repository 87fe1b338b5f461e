import type { Job, Worker } from "bullmq";
import { waitAtMost } from "@inboxerr/batch";
import { createWorker, QUEUE_NAMES, toJobError, type OutageGuard, type QueueContext, type SmsSendJob } from "@inboxerr/contracts";
import type { Logger } from "@inboxerr/logger";

export type SendWorkerOptions = {
  ctx: QueueContext;
  processor: (job: Job<SmsSendJob>, token?: string) => Promise<string>;
  concurrency: number;
  /** Sends per second across every replica; 0 = no cap. */
  rateLimit: number;
  logger: Logger;
  /** Pauses the worker while Postgres is unreachable (jobs go back unspent); see createOutageGuard. */
  outage?: OutageGuard;
};

/**
 * "No cap" still installs a limiter, one that never binds on its own. It used to matter: BullMQ
 * honours a manual queue.rateLimit only with a limiter `max`, and a 429/503 paused the whole
 * queue that way. Since ADR 0019 a throttle is per account (the budgets), not queue-wide.
 */
const UNCAPPED_MAX = 1_000_000_000;

/**
 * SENDER_RATE_LIMIT as a BullMQ limiter: an overall cap over every sender's own limits.
 * BullMQ counts jobs per fixed window; with one-second
 * windows a whole second's allowance starts at once, and since a burst's requests reach the
 * gateway spread over a few hundred ms, a sliding second could see nearly twice the limit.
 * Tenth-of-a-second windows (limit/10 each, rounded so the rate never exceeds the limit) keep
 * every sliding second within about one small window of the limit, and spare the gateway
 * bursts its own queue would refuse.
 */
export function limiterFor(ratePerSecond: number): { max: number; duration: number } {
  if (ratePerSecond <= 0) return { max: UNCAPPED_MAX, duration: 1_000 };
  const max = Math.max(1, Math.round(ratePerSecond / 10));
  return { max, duration: Math.ceil((1_000 * max) / ratePerSecond) };
}

/**
 * The `sms-send` worker, not yet running (autorun off: start() decides). The limiter is one
 * Redis key per queue, so SENDER_RATE_LIMIT is global across replicas: every job taken from
 * the queue by any worker counts.
 */
export function createSendWorker(opts: SendWorkerOptions) {
  const inFlight = new Set<Promise<unknown>>();
  // Short errors only: BullMQ stores err.message as the job's failedReason, in Redis.
  const guarded = opts.outage
    ? opts.outage.wrap(opts.processor)
    : (job: Job<SmsSendJob>, token?: string) => opts.processor(job, token).catch((err: unknown) => Promise.reject(toJobError(err)));
  const tracked = (job: Job<SmsSendJob>, token?: string) => {
    const p = guarded(job, token);
    inFlight.add(p);
    void p.then(
      () => inFlight.delete(p),
      () => inFlight.delete(p),
    );
    return p;
  };
  const worker: Worker<SmsSendJob> = createWorker<SmsSendJob>(QUEUE_NAMES.smsSend, tracked, opts.ctx, {
    autorun: false,
    concurrency: opts.concurrency,
    limiter: limiterFor(opts.rateLimit),
  });
  opts.outage?.attach(worker);
  worker.on("error", (err) => opts.logger.error({ err }, "sms-send worker error"));
  worker.on("failed", (job, err) => {
    if (!job) return;
    const final = err.name === "UnrecoverableError" || job.attemptsMade >= (job.opts.attempts ?? 1);
    // messageId by hand: the processor runs no log context (see createSendProcessor).
    const messageId = typeof job.data?.messageId === "string" ? job.data.messageId : undefined;
    opts.logger[final ? "warn" : "info"]({ jobId: job.id, messageId, attemptsMade: job.attemptsMade, reason: err.message }, final ? "send job failed for good" : "send job will retry");
  });

  return {
    worker,
    start(): void {
      // A failure of the loop reaches the worker's error listener (createWorker), as after a resume.
      void worker.run();
    },
    /**
     * Stops taking jobs and lets the ones in flight finish for up to `boundMs`; then closes,
     * forcing if some are still running. A forced job stays active in Redis, is found stalled
     * and runs again: the gateway answers 409 for a message it already has, so nothing is
     * sent twice.
     */
    async close(boundMs: number): Promise<{ forced: boolean }> {
      opts.outage?.stop();
      if (!worker.isRunning()) {
        await worker.close();
        return { forced: false };
      }
      await worker.pause(true);
      const deadline = Date.now() + boundMs;
      while (inFlight.size > 0 && Date.now() < deadline) await waitAtMost(Promise.allSettled([...inFlight]), deadline - Date.now());
      const forced = inFlight.size > 0;
      if (forced) opts.logger.warn({ inFlight: inFlight.size }, "send jobs still running at the shutdown bound; forcing close");
      await worker.close(forced);
      return { forced };
    },
  };
}
