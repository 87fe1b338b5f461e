import type { Job } from "bullmq";
import { takeEventJob, type MessageEventJob } from "@inboxerr/contracts";
import type { Db } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { MicroBatcher } from "@inboxerr/batch";
import { applyEvents, type ApplyOutcome } from "./apply";
import type { MetricsWorkerInstruments } from "../prometheus";

export type AggregateBatchOptions = {
  /** Events per transaction at most (default 1000; in practice bounded by the events of the jobs in flight). */
  maxSize?: number;
  /** How long the first event of a batch waits for more (default 5 ms). */
  lingerMs?: number;
};

/** What a batch job (ADR 0024) returns, kept on the completed job: its events by outcome. */
type BatchJobOutcome = Record<ApplyOutcome | "invalid", number>;

export type EventConsumer = {
  /** A pre-0024 single-event job returns its ApplyOutcome; a batch job its counts per outcome. */
  process: (job: Job<unknown>) => Promise<ApplyOutcome | BatchJobOutcome>;
  /** Runs the events in hand; the worker must be closed (or closing) first. */
  close: () => Promise<void>;
};

/**
 * The processor of the metrics worker's event queues (`metrics-events`, and the legacy
 * `message-events`). A job carries a batch of events (ADR 0024) or, from an older publisher,
 * one. Each event joins a micro-batch, and the job completes when all of its events' batches
 * commit, so BullMQ only acknowledges what Postgres holds; a failed batch fails its jobs, which
 * retry whole with the queue's backoff and count once thanks to the applied-events ledger.
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
    // No withLogContext per job: its AsyncLocalStorage installs promise hooks that every promise
    // in the process then pays for, and a job's work is a shared batch's anyway. The lines a
    // job logs name it by hand.
    process: async (job) => {
      const read = takeEventJob(job, opts.logger);
      if (!read.batch) return batcher.add(read.events[0]!);
      // Every event is added before any is awaited, so they share batches. The job settles only
      // once none of its events is in flight; one failed batch fails it, and its retry counts
      // the others as duplicates.
      const settled = await Promise.allSettled(read.events.map((e) => batcher.add(e)));
      const counts: BatchJobOutcome = { applied: 0, duplicate: 0, invalid: read.invalid.length };
      for (const s of settled) {
        if (s.status === "rejected") throw s.reason;
        counts[s.value]++;
      }
      return counts;
    },
    close: () => batcher.close(),
  };
}
