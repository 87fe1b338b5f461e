import { and, asc, isNull, lt, sql } from "drizzle-orm";
import { messageEvents, type DbHandle } from "@inboxerr/db";
import { LOCK_KEYS, withAdvisoryLock } from "../advisory-lock";
import { publishAndMark, type OutboxDeps } from "./publish";

export type RelayOptions = Omit<OutboxDeps, "db"> & {
  db: DbHandle;
  /**
   * Rows younger than this are left to the publish that follows their commit; republishing
   * them too would only double the queue traffic. Anything older lost that publish.
   */
  minAgeMs: number;
  /** Rows per round trip; a run pages until the backlog is empty or `maxPages` is reached. */
  pageSize: number;
  maxPages: number;
};

/**
 * Invariant 7: every outbox row reaches `message-events` at least once. One replica at a time
 * (advisory lock) publishes the unpublished rows, oldest first, and stamps them. Consumers
 * are idempotent per event id, so a row published twice (the stamp failed) costs nothing.
 * Returns how many it published, or null when another replica holds the lock.
 */
export function createOutboxRelay(opts: RelayOptions) {
  return {
    async runOnce(): Promise<number | null> {
      return withAdvisoryLock(opts.db.pool, LOCK_KEYS.outboxRelay, async () => {
        let total = 0;
        for (let page = 0; page < opts.maxPages; page++) {
          const rows = await opts.db.db
            .select()
            .from(messageEvents)
            .where(
              and(
                isNull(messageEvents.publishedAt),
                lt(messageEvents.createdAt, sql`now() - make_interval(secs => ${opts.minAgeMs / 1000}::double precision)`),
              ),
            )
            .orderBy(asc(messageEvents.createdAt))
            .limit(opts.pageSize);
          if (rows.length === 0) break;
          await publishAndMark({ db: opts.db.db, queue: opts.queue }, rows);
          opts.metrics.outboxRepublished.inc(rows.length);
          total += rows.length;
          if (rows.length < opts.pageSize) break;
        }
        if (total > 0) opts.logger.info({ published: total }, "outbox relay republished events");
        return total;
      });
    },
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
