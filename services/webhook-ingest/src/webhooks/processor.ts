import { ItemFailure, MicroBatcher } from "@inboxerr/batch";
import { isDataError, type Executor } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { OutboxPublisher } from "@inboxerr/outbox";
import { applyWebhooks, type Outcome } from "./apply";
import type { IngestInstruments } from "../prometheus";
import type { IncomingWebhook } from "./parse";
import type { ReattemptEnqueuer } from "./reattempts";

export type WebhookProcessor = {
  /** Resolves once the webhook's batch has committed. */
  submit: (hook: IncomingWebhook) => Promise<Outcome>;
  /** Finishes the batches in hand and the publishes they started. */
  close: () => Promise<void>;
};

export type BatchOptions = {
  /** Webhooks per statement at most (default 200). */
  maxSize?: number;
  /** Statements in flight at once (default 4; keep below the pool size). */
  maxConcurrent?: number;
  /** Webhooks that must wait before a statement starts beside a running one (default 16)... */
  busyMinSize?: number;
  /** ...or how long the oldest must have waited (default 20 ms). */
  busyMaxWaitMs?: number;
};

/**
 * The phone waits for our answer, so concurrent webhooks share a statement: while the
 * in-flight ones run, new arrivals gather into the next batch (no added wait when idle).
 */
export function createWebhookProcessor(opts: {
  pool: Executor;
  publisher: OutboxPublisher;
  reattempts: ReattemptEnqueuer;
  metrics: IngestInstruments;
  /** Warns of attempts reported sent after their cancel; default: silent. */
  logger?: Logger;
  /** SEND_MAX_ATTEMPTS (default 3). */
  maxAttempts?: number;
  batch?: BatchOptions;
}): WebhookProcessor {
  const batcher = new MicroBatcher<IncomingWebhook, Outcome>({
    maxSize: opts.batch?.maxSize ?? 200,
    maxConcurrent: opts.batch?.maxConcurrent ?? 4,
    // A statement costs about 1 ms of Postgres CPU before its first webhook. At a moderate rate
    // one statement at a time, carrying what arrived meanwhile, is far cheaper than one per
    // arrival. A second opens once 16 are waiting (a burst), or once one has waited 20 ms (a
    // statement slower than usual, say waiting on a row lock, holds no one up for longer).
    busyMinSize: opts.batch?.busyMinSize ?? 16,
    busyMaxWaitMs: opts.batch?.busyMaxWaitMs ?? 20,
    // Reports for a message a running batch holds (a delivered right behind its sent) wait for
    // the next batch instead of blocking on that batch's row lock; so do copies of an envelope
    // (a redelivery racing its original) on its unique-index entry.
    // Pings of one device likewise (they update its sender rows, in no set order).
    keysOf: (hook) =>
      hook.action.kind === "report"
        ? [`e:${hook.envelopeId}`, `m:${hook.action.messageId}`]
        : hook.action.kind === "ping" && hook.deviceId
          ? [`e:${hook.envelopeId}`, `d:${hook.deviceId}`]
          : [`e:${hook.envelopeId}`],
    run: async (hooks) => {
      try {
        return await apply(hooks);
      } catch (err) {
        // One webhook Postgres refuses (say, text it cannot store) must not fail the others
        // with it, on every retry of the phone: apply them one by one, each with its own fate.
        // Only a refusal of the data splits (as the sender's status batcher does); anything
        // else (Postgres down, a timeout) would fail each one alike, so the batch fails whole.
        if (hooks.length === 1 || !isDataError(err)) throw err;
        const results: (Outcome | ItemFailure)[] = [];
        for (const hook of hooks) results.push(...(await apply([hook]).catch((e: unknown) => [new ItemFailure(e)])));
        return results;
      }
    },
  });

  /** One statement: sized and timed here, so a batch split after a refusal counts each one. */
  async function apply(hooks: IncomingWebhook[]): Promise<Outcome[]> {
    opts.metrics.batchSize(hooks.length);
    const done = opts.metrics.batchTimer();
    const { outcomes, events, reattempts, sentAfterCancel } = await applyWebhooks(opts.pool, hooks, opts.maxAttempts).finally(done);
    opts.publisher.publish(events);
    opts.reattempts.enqueue(reattempts);
    if (sentAfterCancel.length > 0) opts.metrics.sentAfterCancel(sentAfterCancel.length);
    for (const x of sentAfterCancel) {
      // The gateway said it cancelled the attempt, then that it sent it: the message (which
      // moved on to a new attempt) may reach its recipient twice (ADR 0022).
      opts.logger?.warn(x, "the gateway reported sent an attempt it had cancelled; recorded on that attempt only");
    }
    hooks.forEach((h, i) => opts.metrics.received(h.event, outcomes[i]!));
    return outcomes;
  }

  return {
    submit: (hook) => batcher.add(hook),
    async close() {
      await batcher.close();
      await Promise.all([opts.publisher.close(), opts.reattempts.close()]);
    },
  };
}
