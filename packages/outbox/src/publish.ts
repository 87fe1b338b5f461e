import { eventBulkJobs, toEventJob, type MessageEventJob, type OutboxEvent, type OutboxQueues, type QueueName } from "@inboxerr/contracts";
import type { DbHandle } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { MicroBatcher, withTimeout } from "@inboxerr/batch";

/** The pg pool under a drizzle client (`createDb().pool`): the outbox runs named statements on it. */
type DbPool = DbHandle["pool"];

export type PublishTarget = {
  pool: DbPool;
  /** Every consumer's queue (createOutboxQueues). */
  queues: OutboxQueues;
  /**
   * Bound on putting one batch on the queues (default 3 s). BullMQ waits for a connection that
   * has never been ready instead of failing fast, so a Redis down since boot would otherwise
   * pin a publish slot, the relay's advisory lock, and shutdown, forever.
   */
  timeoutMs?: number;
};

/**
 * The stamp commits without waiting for the WAL flush (`synchronous_commit = off` for its own
 * transaction only): losing it in a crash only makes the relay publish those rows again, in
 * jobs whose events consumers drop by event id (ADR 0024), and it keeps these commits from
 * queueing for flushes with the status batches the jobs wait on. `set_config(..., true)` lasts for this statement's implicit
 * transaction, so it costs no BEGIN/SET/COMMIT round trips and never leaks into the pooled
 * connection. A named statement: parsed and planned once per connection.
 */
const MARK_PUBLISHED = {
  name: "inboxerr_outbox_mark_published",
  text: `
    with async_commit as (select set_config('synchronous_commit', 'off', true))
    update message_events set published_at = now()
    where id = any($1::uuid[]) and published_at is null and exists (select 1 from async_commit)`,
};

/**
 * Puts outbox rows on every consumer's queue that takes them (queueTakes), in jobs of up to
 * OUTBOX_EVENTS_PER_JOB (eventBulkJobs, ADR 0024): one addBulk each, none where a queue takes none
 * of them. A repeat makes new jobs, which consumers drop by event id. Resolves only when every
 * such queue has its events: only then may the rows be marked published.
 */
export async function publishEvents(queues: OutboxQueues, events: readonly MessageEventJob[]): Promise<void> {
  if (events.length === 0) return;
  await Promise.all(
    queues.map((queue) => {
      const jobs = eventBulkJobs(queue.name as QueueName, events);
      return jobs.length === 0 ? undefined : queue.addBulk(jobs);
    }),
  );
}

/**
 * Puts committed outbox rows on the consumers' queues that take them (in batch jobs; a repeat is
 * dropped by the consumers, per event id), then, only once each of those has its rows, stamps
 * the rows published: at most one addBulk per queue and one UPDATE for the lot. Throws when
 * either fails; rows left unstamped are the relay's to republish.
 */
export async function publishAndMark(target: PublishTarget, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const timeoutMs = target.timeoutMs ?? 3_000;
  await withTimeout(publishEvents(target.queues, events.map(toEventJob)), timeoutMs, "publishing outbox events");
  await target.pool.query({ ...MARK_PUBLISHED, values: [events.map((e) => e.id)] });
}

export type OutboxPublisherOptions = PublishTarget & {
  logger: Logger;
  /** Called with how many events were left for the relay (a failed publish or mark, or a publish after close). */
  onFailure?: (events: number) => void;
  /** Publishes in flight at once (default 2); what commits meanwhile waits and goes out in one. */
  maxConcurrent?: number;
  /** How long a lone event waits for company (default 0: the end of the current turn). */
  lingerMs?: number;
};

export type OutboxPublisher = {
  /** Publishes committed outbox rows in the background; never throws, never makes the caller wait. */
  publish: (events: readonly OutboxEvent[]) => void;
  /** Publishes what it was handed, then refuses more (shutdown: after the writers stopped). */
  close: () => Promise<void>;
};

/**
 * Invariant 7, after commit: every writer hands its committed outbox rows here. Events are
 * folded by a MicroBatcher (up to 1,000 each, `maxConcurrent` at once), so a busy service makes
 * a few large publishes instead of one per transaction (each costs a Redis round trip per queue
 * and an UPDATE). A failure is logged and counted, never retried here: the relay owns
 * republishing, so a Redis outage costs latency, not events.
 */
export function createOutboxPublisher(opts: OutboxPublisherOptions): OutboxPublisher {
  const failed = (n: number) => opts.onFailure?.(n);
  const batcher = new MicroBatcher<OutboxEvent, void>({
    maxSize: 1_000,
    maxConcurrent: opts.maxConcurrent ?? 2,
    ...(opts.lingerMs ? { lingerMs: opts.lingerMs } : {}),
    run: async (events) => {
      try {
        await publishAndMark(opts, events);
      } catch (err) {
        failed(events.length);
        opts.logger.warn({ err, events: events.length }, "outbox publish failed; the outbox relay will republish");
      }
      return events.map(() => undefined);
    },
  });
  return {
    publish(events) {
      // Rejects only once closed: those rows stay unpublished, for the relay.
      for (const e of events) batcher.add(e).catch(() => failed(1));
    },
    close: () => batcher.close(),
  };
}
