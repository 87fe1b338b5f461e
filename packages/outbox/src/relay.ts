import type { OutboxEvent } from "@inboxerr/contracts";
import type { Logger } from "@inboxerr/logger";
import { publishAndMark, type PublishTarget } from "./publish";

export type OutboxRelayOptions = PublishTarget & {
  logger: Logger;
  /**
   * Rows younger than this are left to the publish that follows their commit; republishing
   * them too would only double the queue traffic. Anything older lost that publish.
   */
  minAgeMs: number;
  /** Rows per round trip; a run pages until the backlog is empty or `maxPages` is reached. */
  pageSize: number;
  maxPages: number;
  /** Called with how many rows each page republished. */
  onRepublished?: (events: number) => void;
};

export type OutboxRelay = {
  /** Republishes what stayed unpublished, oldest first; resolves with how many rows it published. */
  runOnce: () => Promise<number>;
};

// Oldest first, by the partial index on unpublished rows (message_events_created_at_idx).
// latency_ms is a bigint, which pg hands back as a string; float8 comes back a number.
const UNPUBLISHED = {
  name: "inboxerr_outbox_unpublished",
  text: `
    select id, message_id as "messageId", user_id as "userId", status, occurred_at as "occurredAt",
           latency_ms::float8 as "latencyMs", sender_id as "senderId", error
    from message_events
    where published_at is null and created_at < now() - make_interval(secs => $1::double precision)
    order by created_at
    limit $2`,
};

/**
 * Invariant 7: every outbox row reaches each consumer queue that takes it at least once. A run
 * publishes the rows whose publish after commit never happened or failed (a crash, Redis down), and
 * stamps them. Consumers are idempotent per event id, so a row published twice (the stamp
 * failed, or a crash came between publish and stamp) costs nothing. One replica at a time
 * should run it: the caller holds the lock (the sender-worker's advisory lock) and the schedule.
 */
export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  return {
    async runOnce() {
      let total = 0;
      for (let page = 0; page < opts.maxPages; page++) {
        const { rows } = await opts.pool.query<OutboxEvent>({ ...UNPUBLISHED, values: [opts.minAgeMs / 1_000, opts.pageSize] });
        if (rows.length === 0) break;
        await publishAndMark(opts, rows);
        opts.onRepublished?.(rows.length);
        total += rows.length;
        if (rows.length < opts.pageSize) break;
      }
      if (total > 0) opts.logger.info({ published: total }, "outbox relay republished events");
      return total;
    },
  };
}
