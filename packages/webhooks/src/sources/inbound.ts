import { namedStatement, type Executor } from "@inboxerr/db";
import type { WebhookEvent } from "../events";
import { toInboundJson } from "../resources/inbound";

type Row = {
  id: string;
  user_id: string | null;
  from_number: string;
  text: string;
  device_id: string | null;
  received_at: Date;
  created_at: Date;
};

// Oldest first through inbound_messages_unpublished_idx (created_at where published_at is
// null). An unattributed reply has no owner whose endpoints could want it: it is stamped in
// the same statement, or it would sit in the partial index and be read by every poll.
const claimStatement = namedStatement<Row>(
  "webhooks_claim_inbound_events",
  `with picked as (
     select id, user_id, from_number, text, device_id, received_at, created_at
       from inbound_messages
      where published_at is null
      order by created_at
      limit $1
        for update skip locked
   ), unattributed as (
     update inbound_messages i set published_at = now()
       from picked p
      where i.id = p.id and p.user_id is null
   )
   select id, user_id, from_number, text, device_id, received_at, created_at
     from picked
    order by created_at, id`,
);

const markStatement = namedStatement(
  "webhooks_mark_inbound_published",
  `update inbound_messages set published_at = now() where id = any($1::uuid[]) and published_at is null`,
);

/**
 * Up to `limit` attributed inbound SMS not yet fanned out, oldest first, as `inbound.received`
 * events (ADR 0023): id = the row's id, userId = the owner attributed at ingest, data = the SMS
 * as GET /inbound-messages lists it, occurredAt = when we received it (ours, not the phone's
 * clock). Unattributed ones read on the way are stamped and go nowhere. An empty answer means
 * nothing is left to fan out (a read of only unattributed rows is followed by another); a short
 * one does not, as unattributed rows may have taken places in it.
 *
 * As for sender events, stamping the returned ones is the caller's, after its fan-out commits:
 * markInboundPublished.
 */
export async function claimInboundEvents(on: Executor, limit: number): Promise<WebhookEvent[]> {
  for (;;) {
    const { rows } = await claimStatement.run(on, [limit]);
    const events = rows.filter((r) => r.user_id !== null).map(toEvent);
    if (events.length > 0 || rows.length < limit) return events;
  }
}

/** Stamps fanned-out inbound SMS, so the next claim skips them. */
export async function markInboundPublished(on: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await markStatement.run(on, [ids]);
}

function toEvent(r: Row): WebhookEvent {
  return {
    id: r.id,
    type: "inbound.received",
    userId: r.user_id,
    occurredAt: r.created_at,
    data: toInboundJson({
      id: r.id,
      fromNumber: r.from_number,
      text: r.text,
      deviceId: r.device_id,
      userId: r.user_id,
      receivedAt: r.received_at,
      createdAt: r.created_at,
    }),
  };
}
