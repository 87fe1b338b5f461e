import type { MessageEventJob } from "@inboxerr/contracts";
import type { Db, MessageStatus, TxClient } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { applyInTx, inRetriedTransaction } from "../aggregate/apply";
import type { MetricsWorkerInstruments } from "../prometheus";

/**
 * One reconciler at a time across replicas. Arbitrary constant, distinct from the sender's
 * sweeper and relay keys (4_712_030_001/2); taken per page transaction, released by its end.
 */
export const RECONCILE_LOCK_KEY = 4_712_030_003;
/** The metrics_reconcile_state row this consumer keeps. */
const STATE = "metrics-worker";

export type ReconcileOptions = {
  db: Db;
  logger: Logger;
  metrics: MetricsWorkerInstruments;
  /** Events published less than this long ago are left to their queue copy. */
  afterMs: number;
  /** Events per transaction (default 1000). */
  pageSize?: number;
  /** Pages per pass at most (default 100): a long backlog is caught up over several passes. */
  maxPages?: number;
};

type Row = {
  id: string;
  message_id: string;
  user_id: string;
  status: MessageStatus;
  occurred_ms: number;
  latency_ms: string | number | null;
  sender_id: string | null;
  error: string | null;
  published_at: string;
  applied: boolean;
};

// `record` counts the page in Prometheus; called once its transaction committed.
type Page = { rows: number; applied: number; record: () => void } | null;

/**
 * Counts the events the queue never delivered (ADR 0008): a Redis that lost its data drops
 * published jobs, and the relay only republishes rows never published. From a watermark
 * (published_at, id), it walks events published more than `afterMs` ago, applies those
 * without a metrics_applied_events row through the same idempotent apply, and moves the
 * watermark past the page in the same transaction, so it only ever passes applied events. A
 * queue copy arriving later, or racing it, finds the event id taken and counts nothing.
 */
export function createReconciler(opts: ReconcileOptions) {
  const pageSize = opts.pageSize ?? 1_000;
  const maxPages = opts.maxPages ?? 100;
  const afterSecs = opts.afterMs / 1000;

  async function page(tx: TxClient): Promise<Page> {
    const lock = await tx.query<{ ok: boolean }>("select pg_try_advisory_xact_lock($1) as ok", [RECONCILE_LOCK_KEY]);
    if (lock.rows[0]?.ok !== true) return null;
    // Timestamps travel as text: microseconds, which a JS Date would round off.
    const state = await tx.query<{ at: string; id: string }>(
      "select published_at::text as at, event_id as id from metrics_reconcile_state where name = $1",
      [STATE],
    );
    const mark = state.rows[0] ?? { at: "-infinity", id: "00000000-0000-0000-0000-000000000000" };
    const { rows } = await tx.query<Row>(
      `
      select e.id, e.message_id, e.user_id, e.status, (extract(epoch from e.occurred_at) * 1000)::float8 as occurred_ms,
        e.latency_ms, e.sender_id, e.error, e.published_at::text as published_at, a.event_id is not null as applied
      from message_events e
      left join metrics_applied_events a on a.event_id = e.id
      where e.published_at is not null
        and e.published_at < now() - make_interval(secs => $1::double precision)
        and (e.published_at, e.id) > ($2::timestamptz, $3::uuid)
      order by e.published_at, e.id
      limit $4`,
      [afterSecs, mark.at, mark.id, pageSize],
    );
    const last = rows.at(-1);
    if (!last) return { rows: 0, applied: 0, record: () => {} };
    const missing = rows.filter((r) => !r.applied).map(toJob);
    const result = await applyInTx(tx, missing);
    await tx.query(
      `
      insert into metrics_reconcile_state (name, published_at, event_id)
      values ($1, $2::timestamptz, $3::uuid)
      on conflict (name) do update set published_at = excluded.published_at, event_id = excluded.event_id, updated_at = now()`,
      [STATE, last.published_at, last.id],
    );
    // Counted by the caller once the transaction committed: a retried or failed page counts nothing.
    return { rows: rows.length, applied: result.outcomes.filter((o) => o === "applied").length, record: () => opts.metrics.record(missing, result) };
  }

  return {
    /**
     * One pass; resolves to the events it counted, or null when another replica is
     * reconciling. `signal` (shutdown) stops it between pages.
     */
    async runOnce(signal?: AbortSignal): Promise<number | null> {
      let applied = 0;
      let locked = false;
      for (let n = 0; n < maxPages && !signal?.aborted; n++) {
        const done = await inRetriedTransaction(opts.db, page);
        if (done === null) break;
        locked = true;
        done.record();
        applied += done.applied;
        if (done.rows < pageSize) break;
      }
      if (applied > 0) {
        opts.metrics.reconciled(applied);
        opts.logger.warn({ events: applied }, "reconcile counted events the queue never delivered");
      }
      return locked ? applied : null;
    },
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;

function toJob(r: Row): MessageEventJob {
  return {
    eventId: r.id,
    messageId: r.message_id,
    userId: r.user_id,
    status: r.status,
    occurredAt: new Date(r.occurred_ms).toISOString(),
    latencyMs: r.latency_ms === null ? null : Number(r.latency_ms),
    senderId: r.sender_id,
    error: r.error,
  };
}
