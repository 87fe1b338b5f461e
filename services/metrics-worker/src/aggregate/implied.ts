import type { MessageEventJob } from "@inboxerr/contracts";
import { namedStatement, skippedStatuses, STATUS_RANK, type MessageStatus, type TxClient } from "@inboxerr/db";

type Reached = { sending: boolean; accepted: boolean; sent: boolean };

const REACHED = namedStatement<{ id: string } & Reached>(
  "inboxerr_metrics_reached",
  `
    select id, sending_at is not null as sending, accepted_at is not null as accepted, sent_at is not null as sent
    from messages where id = any($1::uuid[])`,
);

// Highest first: the status a message was in right before a move is the highest one reached below it.
const BELOW = ["sent", "accepted", "sending"] as const;

/**
 * The states each event's move skipped, as extra counts at the event's own minute and
 * latency (the state was reached by then at the latest): `sms:delivered` overtaking
 * `sms:sent` still counts `sent`, and `sms:sent` overtaking the sender's `accepted` write
 * still counts `accepted`, so the funnel stays monotone (accepted ≥ sent ≥ delivered).
 *
 * Events carry no "from" status; the message row tells it. Status only moves forward by
 * rank, and each transition stamps `<status>_at`, so the stamps set below an event's rank
 * are exactly the states reached before it, whatever happened since; the highest one is
 * where the move started. The skipped states can never get an event of their own (a move
 * back by rank is refused), so each is counted once, by the event that skipped it.
 * A message gone meanwhile (its user was deleted) implies nothing; it is not counted anyway.
 */
export async function impliedSteps(tx: TxClient, events: readonly MessageEventJob[]): Promise<MessageEventJob[]> {
  // A move into sending or off the main path (failed, cancelled, expired) implies nothing.
  const candidates = events.filter((e) => rankOf(e.status) >= STATUS_RANK.accepted);
  if (candidates.length === 0) return [];
  const ids = [...new Set(candidates.map((e) => e.messageId.toLowerCase()))];
  const { rows } = await REACHED.run(tx, [ids]);
  const reached = new Map(rows.map((r) => [r.id, r]));
  const steps: MessageEventJob[] = [];
  for (const e of candidates) {
    const r = reached.get(e.messageId.toLowerCase());
    if (!r) continue;
    const from: MessageStatus = BELOW.find((s) => r[s] && STATUS_RANK[s] < rankOf(e.status)) ?? "queued";
    for (const status of skippedStatuses(from, e.status)) steps.push({ ...e, status });
  }
  return steps;
}

function rankOf(status: MessageStatus): number {
  return status in STATUS_RANK ? STATUS_RANK[status as keyof typeof STATUS_RANK] : -1;
}
