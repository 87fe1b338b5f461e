import type { Queue } from "bullmq";
import { withTimeout } from "@inboxerr/batch";
import { enqueueSends, type SmsSendJob } from "@inboxerr/contracts";
import type { Reattempt } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { IngestInstruments } from "../prometheus";

export type ReattemptEnqueuer = {
  /** Adds the jobs in the background; never throws. */
  enqueue: (reattempts: readonly Reattempt[]) => void;
  /** Waits for the adds in flight. */
  close: () => Promise<void>;
};

/**
 * After a batch commits, adds one `sms-send` job per message whose attempt ended before
 * transmission with attempts left (ADR 0019): jobId `sendJobId(messageId, n)`, the api's job
 * options (enqueueSends), so the sender-worker makes attempt n. The phone does not wait for it:
 * the rows are committed, and a lost add (Redis down) is logged and counted; the sender-worker's
 * sweeper adds it again from Postgres. A repeat add of the same jobId is a no-op.
 */
export function createReattemptEnqueuer(opts: {
  queue: Queue<SmsSendJob>;
  logger: Logger;
  metrics: IngestInstruments;
  /** How long an add may take before it counts as lost (default 3 s, as outbox publishes). */
  timeoutMs?: number;
}): ReattemptEnqueuer {
  const inFlight = new Set<Promise<void>>();
  return {
    enqueue(reattempts) {
      if (reattempts.length === 0) return;
      const sends = reattempts.map((r) => ({ id: r.messageId, priority: r.priority, attempt: r.attempt }));
      // Bounded: a queue whose Redis is down may wait for it forever; a late add is harmless
      // (the sweeper's re-add of the same jobId is a no-op).
      const done = withTimeout(enqueueSends(opts.queue, sends), opts.timeoutMs ?? 3_000, "adding new attempts' sms-send jobs")
        .then(
          () => opts.metrics.reattempts(sends.length),
          (err: unknown) => {
            opts.metrics.reattemptEnqueueFailed(sends.length);
            opts.logger.warn(
              { err, messageIds: reattempts.map((r) => r.messageId) },
              "adding new attempts' sms-send jobs failed; the sweeper adds them again",
            );
          },
        )
        .finally(() => inFlight.delete(done));
      inFlight.add(done);
    },
    async close() {
      await Promise.all(inFlight);
    },
  };
}
