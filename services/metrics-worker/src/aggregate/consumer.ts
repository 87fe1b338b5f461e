import { UnrecoverableError, type Job } from "bullmq";
import { messageEventJobSchema, type MessageEventJob } from "@inboxerr/contracts";
import type { Db } from "@inboxerr/db";
import { withLogContext, type Logger } from "@inboxerr/logger";
import { MicroBatcher } from "@inboxerr/batch";
import { applyEvents, type ApplyOutcome } from "./apply";
import type { MetricsWorkerInstruments } from "../prometheus";

export type AggregateBatchOptions = {
  /** Events per transaction at most (default 1000; in practice bounded by the worker's concurrency). */
  maxSize?: number;
  /** How long the first event of a batch waits for more (default 5 ms). */
  lingerMs?: number;
};

export type EventConsumer = {
  process: (job: Job<unknown>) => Promise<ApplyOutcome>;
  /** Runs the events in hand; the worker must be closed (or closing) first. */
  close: () => Promise<void>;
};

/**
 * The processor of the metrics worker's event queues (`metrics-events`, and the legacy
 * `message-events`). Each job joins a micro-batch and completes when that batch commits, so
 * BullMQ only acknowledges what Postgres holds; a failed batch fails its jobs, which retry with
 * the queue's backoff and count once thanks to the applied-events ledger.
 */
export function createEventConsumer(opts: {
  db: Db;
  logger: Logger;
  metrics: MetricsWorkerInstruments;
  batch?: AggregateBatchOptions;
}): EventConsumer {
  const batcher = new MicroBatcher<MessageEventJob, ApplyOutcome>({
    maxSize: opts.batch?.maxSize ?? 1_000,
    // One transaction at a time per replica: a hot bucket row never waits on its own process.
    maxConcurrent: 1,
    lingerMs: opts.batch?.lingerMs ?? 5,
    run: async (events) => {
      opts.metrics.batchSize(events.length);
      const result = await applyEvents(opts.db, events);
      opts.metrics.record(events, result);
      return result.outcomes;
    },
  });

  return {
    process: (job) =>
      withLogContext({ jobId: job.id }, async () => {
        const parsed = messageEventJobSchema.safeParse(job.data);
        if (!parsed.success) {
          const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "(data)"}: ${i.message}`).join("; ");
          opts.logger.error({ jobName: job.name, detail }, "invalid event job; dropping it");
          // Retrying cannot fix the data; fail it for good so it is kept for inspection.
          throw new UnrecoverableError(`invalid event job: ${detail}`);
        }
        return batcher.add(parsed.data);
      }),
    close: () => batcher.close(),
  };
}
