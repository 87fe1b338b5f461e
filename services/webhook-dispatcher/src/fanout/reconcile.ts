import { CUSTOMER_VISIBLE_STATUSES, type MessageEventJob } from "@inboxerr/contracts";
import { withTransaction, type Db, type MessageStatus, type TxClient } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { EndpointCache } from "./endpoints";
import type { FanOut } from "./fanout";
import { fanOutMessageEvents, type DeriveEvents } from "./message-events";

/**
 * One reconciler at a time across replicas; distinct from the sources' keys (4_712_170_001/2)
 * and the other services' (4_712_030_00x). Taken per page transaction, released by its end.
 */
export const WEBHOOK_RECONCILE_LOCK_KEY = 4_712_170_003;
/** This consumer's row of metrics_reconcile_state (keyed by consumer, ADR 0008). */
const STATE = "webhook-dispatcher";
const NIL = "00000000-0000-0000-0000-000000000000";

type Row = {
  id: string;
  message_id: string;
  user_id: string;
  status: MessageStatus;
  occurred_ms: number;
  published_at: string;
  missing: boolean;
};

/**
 * Fans out what `webhook-events` lost (ADR 0023, the way metrics does in ADR 0008): a Redis that
 * lost its data drops published jobs, and the relay republishes only rows never published.
 * From a watermark (published_at, id) it walks message events published more than `afterMs`
 * ago and fans out, through the same path as the queue, those a matching active endpoint
 * (created before the event) has no delivery for; then moves the watermark past the page in
 * the page's transaction. A queue copy arriving later finds the (endpoint, event) pair taken.
 * Where no endpoint is active the watermark just moves on: nothing is scanned.
 */
export function createWebhookReconciler(opts: {
  db: Db;
  logger: Logger;
  endpoints: EndpointCache;
  fanOut: FanOut;
  derive?: DeriveEvents;
  afterMs: number;
  pageSize?: number;
  maxPages?: number;
}) {
  const pageSize = opts.pageSize ?? 1_000;
  const maxPages = opts.maxPages ?? 100;
  const afterSecs = opts.afterMs / 1000;

  const save = (tx: TxClient, at: string, id: string) =>
    tx.query(
      `insert into metrics_reconcile_state (name, published_at, event_id) values ($1, $2::timestamptz, $3::uuid)
       on conflict (name) do update set published_at = excluded.published_at, event_id = excluded.event_id, updated_at = now()`,
      [STATE, at, id],
    );

  async function page(tx: TxClient): Promise<{ rows: number; fannedOut: number } | null> {
    const lock = await tx.query<{ ok: boolean }>("select pg_try_advisory_xact_lock($1) as ok", [WEBHOOK_RECONCILE_LOCK_KEY]);
    if (lock.rows[0]?.ok !== true) return null;
    // Timestamps travel as text: microseconds, which a JS Date would round off.
    // The watermark, never behind the oldest active endpoint: events before it went to no
    // endpoint (published_at >= occurred_at), so a first pass does not walk the whole outbox.
    const state = await tx.query<{ at: string | null; id: string; horizon: string }>(
      `select (case when s.published_at >= f.first then s.published_at else f.first end)::text as at,
         case when s.published_at >= f.first then s.event_id else $3::uuid end as id,
         (now() - make_interval(secs => $2::double precision))::text as horizon
       from (select min(created_at) as first from webhook_endpoints where status = 'active') f
       left join metrics_reconcile_state s on s.name = $1`,
      [STATE, afterSecs, NIL],
    );
    const mark = state.rows[0]!;
    if (mark.at === null) {
      // No endpoint to tell: whatever is published up to the horizon needs nothing.
      await save(tx, mark.horizon, "ffffffff-ffff-ffff-ffff-ffffffffffff");
      return { rows: 0, fannedOut: 0 };
    }
    const { rows } = await tx.query<Row>(
      `select e.id, e.message_id, e.user_id, e.status, (extract(epoch from e.occurred_at) * 1000)::float8 as occurred_ms,
         e.published_at::text as published_at,
         e.status = any($5::text[]) and exists (
           select 1 from webhook_endpoints w
           where w.user_id = e.user_id and w.status = 'active' and w.created_at <= e.occurred_at
             and (cardinality(w.events) = 0 or 'message.' || e.status = any(w.events))
             and not exists (select 1 from webhook_deliveries d where d.endpoint_id = w.id and d.event_id = e.id)
         ) as missing
       from message_events e
       where e.published_at is not null
         and e.published_at < now() - make_interval(secs => $1::double precision)
         and (e.published_at, e.id) > ($2::timestamptz, $3::uuid)
       order by e.published_at, e.id
       limit $4`,
      [afterSecs, mark.at, mark.id, pageSize, CUSTOMER_VISIBLE_STATUSES],
    );
    const last = rows.at(-1);
    if (!last) return { rows: 0, fannedOut: 0 };
    const missing = rows.filter((r) => r.missing).map(toJob);
    // Committed on other connections before the watermark moves: a failure here rolls the move back.
    if (missing.length > 0) await fanOutMessageEvents(opts, missing);
    await save(tx, last.published_at, last.id);
    return { rows: rows.length, fannedOut: missing.length };
  }

  return {
    /** One pass; resolves to the events it fanned out, or null when another replica holds the lock. */
    async runOnce(signal?: AbortSignal): Promise<number | null> {
      let fannedOut = 0;
      let locked = false;
      for (let n = 0; n < maxPages && !signal?.aborted; n++) {
        const done = await withTransaction(opts.db, page);
        if (done === null) break;
        locked = true;
        fannedOut += done.fannedOut;
        if (done.rows < pageSize) break;
      }
      if (fannedOut > 0) opts.logger.warn({ events: fannedOut }, "reconcile fanned out message events the webhook-events queue never delivered");
      return locked ? fannedOut : null;
    },
  };
}

export type WebhookReconciler = ReturnType<typeof createWebhookReconciler>;

function toJob(r: Row): MessageEventJob {
  return {
    eventId: r.id,
    messageId: r.message_id,
    userId: r.user_id,
    status: r.status,
    occurredAt: new Date(r.occurred_ms).toISOString(),
    latencyMs: null,
  };
}
