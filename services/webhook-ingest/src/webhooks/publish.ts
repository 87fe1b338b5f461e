import type { Queue } from "bullmq";
import { publishEvents, toEventJob, type MessageEventJob } from "@inboxerr/contracts";
import type { Logger } from "@inboxerr/logger";
import { MicroBatcher } from "@inboxerr/batch";
import type { DbPool, WrittenEvent } from "./statement";

export type OutboxPublisher = {
  /** Publishes committed outbox rows in the background; never throws. */
  publish: (events: readonly WrittenEvent[]) => void;
  /** Waits for every publish started so far. */
  close: () => Promise<void>;
};

// Losing this mark in a crash only makes the relay republish (a no-op by job id), so its commit
// need not wait for the WAL flush: set_config(..., true) lasts for this statement's own
// transaction, saving the BEGIN/SET/COMMIT round trips an explicit one would cost.
const MARK_PUBLISHED = `
  with async_commit as (select set_config('synchronous_commit', 'off', true))
  update message_events set published_at = now()
  where id = any($1::uuid[]) and published_at is null and exists (select 1 from async_commit)`;

/**
 * Invariant 7 on the webhook path: committed transitions go to `message-events` right after
 * commit and are marked published. A failure (Redis down) only logs: the rows keep
 * published_at NULL and the sender-worker's relay publishes them later. Publishes gather for
 * 50 ms (longer while the previous publish is still out), so a busy ingest pays one addBulk and
 * one UPDATE per fold rather than per webhook batch. That is what an event waits for on its way
 * to the metrics worker, far below the 5 s the relay leaves a fresh event to this publish.
 */
export function createOutboxPublisher(opts: {
  pool: DbPool;
  queue: Queue<MessageEventJob>;
  logger: Logger;
  onFailure?: (n: number) => void;
  /** Bound on one publish (default 3 s). */
  timeoutMs?: number;
}): OutboxPublisher {
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const batcher = new MicroBatcher<WrittenEvent, void>({
    maxSize: 1_000,
    maxConcurrent: 1,
    lingerMs: 50,
    run: async (events) => {
      await publishBatch(events);
      return events.map(() => undefined);
    },
  });

  async function publishBatch(events: WrittenEvent[]): Promise<void> {
    try {
      // BullMQ waits for a connection that has never been ready instead of failing fast, so
      // a Redis that is down since boot would pin these slots (and shutdown) forever.
      await withTimeout(publishEvents(opts.queue, events.map(toEventJob)), timeoutMs);
    } catch (err) {
      opts.onFailure?.(events.length);
      opts.logger.warn({ err, events: events.length }, "publishing outbox events failed; the relay will retry");
      return;
    }
    try {
      await opts.pool.query({ name: "inboxerr_mark_published", text: MARK_PUBLISHED, values: [events.map((e) => e.id)] });
    } catch (err) {
      // Published but not marked: the relay republishes, and jobId = event id makes that a no-op.
      opts.logger.warn({ err, events: events.length }, "marking outbox events published failed");
    }
  }

  return {
    publish(events) {
      // Rejects only once closed; those rows stay unpublished for the relay.
      for (const e of events) batcher.add(e).catch(() => opts.onFailure?.(1));
    },
    close: () => batcher.close(),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  // A late success is harmless: jobId = event id, and the relay's republish is then a no-op.
  p.catch(() => undefined);
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
