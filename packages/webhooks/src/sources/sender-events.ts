import { namedStatement, type Executor, type SenderEventType } from "@inboxerr/db";
import type { WebhookEvent } from "../events";

// Oldest first through the partial index sender_events_created_at_idx (published_at is null),
// so a drained outbox costs an empty index scan. SKIP LOCKED lets a caller that claims inside
// its fan-out transaction hold the rows without blocking another replica's poll.
const claimStatement = namedStatement<{ id: string; type: SenderEventType; owner_user_id: string | null; payload: unknown; occurred_at: Date }>(
  "webhooks_claim_sender_events",
  `select id, type, owner_user_id, payload, occurred_at
     from sender_events
    where published_at is null
    order by created_at
    limit $1
      for update skip locked`,
);

const markStatement = namedStatement(
  "webhooks_mark_sender_events_published",
  `update sender_events set published_at = now() where id = any($1::uuid[]) and published_at is null`,
);

/**
 * Up to `limit` sender events not yet fanned out, oldest first, as webhook events (ADR 0022,
 * 0023): id = the row's id, userId = the sender's owner (null: a shared sender, every admin's),
 * data = the sender as it was at the change.
 *
 * Reading stamps nothing: the caller commits its fan-out, then calls
 * markSenderEventsPublished with the ids (in the same transaction or after it). A crash in
 * between hands the same events out again, and fan-out's unique (endpoint_id, event_id) makes
 * the second pass a no-op; stamping first could lose them.
 */
export async function claimSenderEvents(on: Executor, limit: number): Promise<WebhookEvent[]> {
  const { rows } = await claimStatement.run(on, [limit]);
  return rows.map((r) => ({ id: r.id, type: r.type, userId: r.owner_user_id, occurredAt: r.occurred_at, data: r.payload }));
}

/** Stamps fanned-out sender events, so the next claim skips them. */
export async function markSenderEventsPublished(on: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await markStatement.run(on, [ids]);
}
