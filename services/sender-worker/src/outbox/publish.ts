import type { Queue } from "bullmq";
import { publishEvents, toEventJob, type MessageEventJob } from "@inboxerr/contracts";
import { namedStatement, type Db, type MessageEvent } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { MicroBatcher } from "@inboxerr/batch";
import type { SenderInstruments } from "../prometheus";

const MARK_PUBLISHED = namedStatement(
  "inboxerr_sender_mark_published",
  `
    with async_commit as (select set_config('synchronous_commit', 'off', true))
    update message_events set published_at = now()
    where id = any($1::uuid[]) and published_at is null and exists (select 1 from async_commit)`,
);

export type OutboxDeps = { db: Db; queue: Queue<MessageEventJob>; logger: Logger; metrics: SenderInstruments };

/**
 * Puts committed outbox rows on `message-events` (jobId = event id, so a repeat is a no-op),
 * then stamps them published: one Redis round trip and one UPDATE for the lot. Throws when
 * either fails; rows left unstamped are the relay's to republish.
 *
 * The stamp commits without waiting for the WAL flush (`synchronous_commit = off` for its own
 * transaction only): losing it in a crash only makes the relay publish those rows again, a
 * no-op by job id, and it keeps these commits from queueing for flushes with the status
 * batches the jobs wait on. `set_config(..., true)` lasts for this statement's implicit
 * transaction, so it costs no BEGIN/SET/COMMIT round trips and never leaks into the pooled
 * connection (as in webhook-ingest's publish).
 */
export async function publishAndMark(deps: Pick<OutboxDeps, "db" | "queue">, events: readonly MessageEvent[]): Promise<void> {
  if (events.length === 0) return;
  await publishEvents(deps.queue, events.map(toEventJob));
  await MARK_PUBLISHED.run(deps.db, [events.map((e) => e.id)]);
}

/**
 * Publishes right after commit without making the caller wait. Events are folded by a
 * MicroBatcher (at most 2 publishes in flight, up to 1,000 events each): what commits while
 * publishes run goes out together in the next, so a busy sender makes a few large publishes
 * instead of one per status batch (each costs a Redis round trip and an UPDATE). A failure is
 * logged and counted, never retried here: the relay owns republishing (invariant 7), so a
 * Redis outage costs latency, not events.
 */
export function createOutboxPublisher(deps: OutboxDeps) {
  const batcher = new MicroBatcher<MessageEvent, void>({
    maxSize: 1_000,
    maxConcurrent: 2,
    run: async (events) => {
      try {
        await publishAndMark(deps, events);
      } catch (err) {
        deps.metrics.outboxPublishFailures.inc(events.length);
        deps.logger.warn({ err, events: events.length }, "event publish failed; the outbox relay will republish");
      }
      return events.map(() => undefined);
    },
  });
  return {
    publish(events: readonly MessageEvent[]): void {
      // Rejects only once closed: those rows stay unpublished, for the relay.
      for (const e of events) batcher.add(e).catch(() => deps.metrics.outboxPublishFailures.inc());
    },
    /** Publishes what it was handed, then refuses more (shutdown: after the status batcher closed). */
    close: () => batcher.close(),
  };
}

export type OutboxPublisher = ReturnType<typeof createOutboxPublisher>;
