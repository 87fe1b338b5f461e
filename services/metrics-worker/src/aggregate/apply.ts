import type { MessageEventJob } from "@inboxerr/contracts";
import { namedStatement, withConflictRetry, withTransaction, type Db, type TxClient } from "@inboxerr/db";
import { foldBuckets, foldFailureReasons, foldSenderBuckets, type BucketDelta, type FailureReasonDelta, type SenderBucketDelta } from "./fold";
import { impliedSteps } from "./implied";

const RECORD_APPLIED = namedStatement<{ event_id: string }>(
  "inboxerr_metrics_record_applied",
  `
    insert into metrics_applied_events (event_id)
    select unnest($1::uuid[])
    on conflict (event_id) do nothing
    returning event_id`,
);

// A user deleted since the event was written has nothing left to count (and the FK would
// fail the whole batch, again on every retry).
const UPSERT_BUCKETS = namedStatement(
  "inboxerr_metrics_upsert_buckets",
  `
    insert into metrics_buckets as b (user_id, bucket_start, status, count, latency_ms_sum)
    select v.user_id, v.bucket_start, v.status, v.count, v.latency_ms_sum
    from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[])
      as v(user_id, bucket_start, status, count, latency_ms_sum)
    where exists (select 1 from users u where u.id = v.user_id)
    on conflict (user_id, bucket_start, status) do update set
      count = b.count + excluded.count,
      latency_ms_sum = b.latency_ms_sum + excluded.latency_ms_sum`,
);

// The same counts per sender, and failed events per reason (ADR 0021); same user guard.
const UPSERT_SENDER_BUCKETS = namedStatement(
  "inboxerr_metrics_upsert_sender_buckets",
  `
    insert into metrics_sender_buckets as b (user_id, sender_id, bucket_start, status, count, latency_ms_sum)
    select v.user_id, v.sender_id, v.bucket_start, v.status, v.count, v.latency_ms_sum
    from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::bigint[], $6::bigint[])
      as v(user_id, sender_id, bucket_start, status, count, latency_ms_sum)
    where exists (select 1 from users u where u.id = v.user_id)
    on conflict (user_id, sender_id, bucket_start, status) do update set
      count = b.count + excluded.count,
      latency_ms_sum = b.latency_ms_sum + excluded.latency_ms_sum`,
);

const UPSERT_FAILURE_REASONS = namedStatement(
  "inboxerr_metrics_upsert_failure_reasons",
  `
    insert into metrics_failure_reasons as r (user_id, bucket_start, sender_id, reason, count)
    select v.user_id, v.bucket_start, v.sender_id, v.reason, v.count
    from unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::bigint[])
      as v(user_id, bucket_start, sender_id, reason, count)
    where exists (select 1 from users u where u.id = v.user_id)
    on conflict (user_id, bucket_start, sender_id, reason) do update set count = r.count + excluded.count`,
);

export type ApplyOutcome = "applied" | "duplicate";

export type ApplyResult = {
  /** One per event, in input order. */
  outcomes: ApplyOutcome[];
  /** States the applied events implied (see impliedSteps), counted with them. */
  implied: MessageEventJob[];
};

/**
 * Counts a batch of events once each, in one transaction: the event ids go into
 * metrics_applied_events first, and only the ids that were new are summed into
 * metrics_buckets, with one upsert for the whole batch. A redelivered event (a retried job,
 * the relay republishing, the reconcile pass) finds its id there and counts as a duplicate.
 * Each applied event also counts the states its move skipped (monotone funnel). The same
 * counts go per sender (metrics_sender_buckets) for events that name one, and failed events
 * per normalised reason (metrics_failure_reasons), in the same transaction: once each too.
 */
export function applyEvents(db: Db, events: readonly MessageEventJob[]): Promise<ApplyResult> {
  return inRetriedTransaction(db, (tx) => applyInTx(tx, events));
}

/** A transaction rerun (up to 3 times) when Postgres picked it as a deadlock or serialization victim. */
export function inRetriedTransaction<T>(db: Db, fn: (tx: TxClient) => Promise<T>): Promise<T> {
  return withConflictRetry(() => withTransaction(db, fn));
}

/** applyEvents inside the caller's transaction (the reconcile pass advances its watermark in it). */
export async function applyInTx(tx: TxClient, events: readonly MessageEventJob[]): Promise<ApplyResult> {
  if (events.length === 0) return { outcomes: [], implied: [] };
  // Sorted, so two replicas inserting overlapping ids wait on each other in the same order.
  const ids = [...new Set(events.map((e) => e.eventId.toLowerCase()))].sort();
  const { rows } = await RECORD_APPLIED.run(tx, [ids]);
  const fresh = new Set(rows.map((r) => r.event_id));
  const outcomes: ApplyOutcome[] = [];
  const counted: MessageEventJob[] = [];
  for (const e of events) {
    const id = e.eventId.toLowerCase();
    // delete: a second copy of the same id within the batch is a duplicate too.
    if (fresh.delete(id)) {
      counted.push(e);
      outcomes.push("applied");
    } else outcomes.push("duplicate");
  }
  const implied = await impliedSteps(tx, counted);
  const all = [...counted, ...implied];
  const deltas = foldBuckets(all);
  if (deltas.length > 0) await upsertBuckets(tx, deltas);
  const perSender = foldSenderBuckets(all);
  if (perSender.length > 0) await upsertSenderBuckets(tx, perSender);
  // Implied steps are never `failed`: only the events themselves carry a reason.
  const reasons = foldFailureReasons(counted);
  if (reasons.length > 0) await upsertFailureReasons(tx, reasons);
  return { outcomes, implied };
}

async function upsertBuckets(tx: TxClient, deltas: readonly BucketDelta[]): Promise<void> {
  const col = <T>(pick: (d: BucketDelta) => T) => deltas.map(pick);
  await UPSERT_BUCKETS.run(tx, [
    col((d) => d.userId),
    col((d) => d.bucketStart),
    col((d) => d.status),
    col((d) => d.count),
    col((d) => d.latencyMsSum),
  ]);
}

async function upsertSenderBuckets(tx: TxClient, deltas: readonly SenderBucketDelta[]): Promise<void> {
  const col = <T>(pick: (d: SenderBucketDelta) => T) => deltas.map(pick);
  await UPSERT_SENDER_BUCKETS.run(tx, [
    col((d) => d.userId),
    col((d) => d.senderId),
    col((d) => d.bucketStart),
    col((d) => d.status),
    col((d) => d.count),
    col((d) => d.latencyMsSum),
  ]);
}

async function upsertFailureReasons(tx: TxClient, deltas: readonly FailureReasonDelta[]): Promise<void> {
  const col = <T>(pick: (d: FailureReasonDelta) => T) => deltas.map(pick);
  await UPSERT_FAILURE_REASONS.run(tx, [
    col((d) => d.userId),
    col((d) => d.bucketStart),
    col((d) => d.senderId),
    col((d) => d.reason),
    col((d) => d.count),
  ]);
}
