import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { sendJobId, type SmsSendJob } from "@inboxerr/contracts";
import { transitionMany, type DbHandle } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { OutboxPublisher } from "@inboxerr/outbox";
import { LOCK_KEYS, withAdvisoryLock } from "../advisory-lock";
import type { SenderInstruments } from "../prometheus";
import { EXPIRED_UNSENT } from "../send/batcher";
import { enqueueAttempts } from "../send/enqueue";
import { jobPresence } from "./job-states";
import { purgeIdempotencyKeys } from "./purge";
import { expiredIds, scanPage, type Cursor, type SweepKind, type SweepRow } from "./scan";

// The statuses expiredIds selects from.
const EXPIRABLE = ["scheduled", "queued"] as const;

export type SweeperOptions = {
  db: DbHandle;
  queue: Queue<SmsSendJob>;
  /** The connection the queue uses; the job lookups pipeline on it. */
  redis: Redis;
  publisher: OutboxPublisher;
  metrics: SenderInstruments;
  logger: Logger;
  /** A `sending` row untouched this long has lost its worker (SWEEPER_STALE_SECONDS). */
  staleMs: number;
  /**
   * How long a queued row (or a due scheduled one) may wait before the sweeper checks for its
   * job. The api enqueues right after commit, so a younger row almost always has its job, and
   * skipping them keeps a busy queue from being re-checked on every pass.
   */
  graceMs: number;
  /** Rows per page: bounds memory and each Redis pipeline, so a 100k backlog pages through. */
  pageSize: number;
  /** SEND_MAX_ATTEMPTS: a message with fewer attempt rows and none live gets its next attempt's job back. */
  maxAttempts: number;
};

export type SweepReport = { reenqueued: Record<SweepKind, number>; expired: number; idempotencyKeysPurged: number };

/**
 * Invariant 1: Postgres is the truth, Redis only work in flight. One pass, under an advisory
 * lock so one replica sweeps at a time: expire what can no longer be sent, then give every
 * queued, due scheduled and stale sending message without a live job a new one; last, purge
 * expired idempotency keys. Returns null when another replica holds the lock.
 */
export function createSweeper(opts: SweeperOptions) {
  async function expire(): Promise<number> {
    let total = 0;
    for (;;) {
      const ids = await expiredIds(opts.db.db, opts.pageSize);
      if (ids.length === 0) break;
      // Pinned to the statuses just read: a worker's claim (→ sending) landing in between must
      // win, or its gateway call would go out for a message recorded as expired.
      const events = await transitionMany(
        opts.db.db,
        ids.map((messageId) => ({ messageId, to: "expired" as const, error: EXPIRED_UNSENT, from: EXPIRABLE })),
      );
      opts.publisher.publish(events);
      total += events.length;
      // Every id moved or lost a race to another writer; either way the next page is new rows.
      if (ids.length < opts.pageSize || events.length === 0) break;
    }
    opts.metrics.sweeperExpired.inc(total);
    return total;
  }

  async function reenqueue(kind: SweepKind): Promise<number> {
    let total = 0;
    let after: Cursor = null;
    do {
      const page = await scanPage(opts.db.db, kind, {
        graceMs: opts.graceMs,
        staleMs: opts.staleMs,
        maxAttempts: opts.maxAttempts,
        limit: opts.pageSize,
        after,
      });
      after = page.next;
      if (page.rows.length === 0) break;
      const jobId = (r: SweepRow) => sendJobId(r.id, r.n);
      const presence = await jobPresence(opts.redis, opts.queue, page.rows.map(jobId));
      const lost = page.rows.filter((r) => presence.get(jobId(r)) !== "live");
      // A kept finished job of the same id would turn the add into a silent no-op.
      const finished = lost.filter((r) => presence.get(jobId(r)) === "finished");
      await Promise.all(finished.map((r) => opts.queue.remove(jobId(r))));
      await enqueueAttempts(opts.queue, lost);
      total += lost.length;
      if (page.rows.length < opts.pageSize) break;
    } while (after);
    opts.metrics.sweeperReenqueued.inc({ status: kind }, total);
    return total;
  }

  return {
    async runOnce(): Promise<SweepReport | null> {
      return withAdvisoryLock(opts.db.pool, LOCK_KEYS.sweeper, async () => {
        const expired = await expire();
        const reenqueued = { queued: 0, scheduled: 0, sending: 0, reattempt: 0 };
        for (const kind of ["queued", "scheduled", "sending", "reattempt"] as const) reenqueued[kind] = await reenqueue(kind);
        const idempotencyKeysPurged = await purgeIdempotencyKeys(opts.db.db);
        opts.metrics.sweeperIdempotencyKeysPurged.inc(idempotencyKeysPurged);
        const report = { reenqueued, expired, idempotencyKeysPurged };
        const total = expired + Object.values(reenqueued).reduce((a, b) => a + b, 0) + idempotencyKeysPurged;
        if (total > 0) opts.logger.info(report, "sweeper pass");
        return report;
      });
    },
  };
}
