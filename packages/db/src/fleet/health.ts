import type pg from "pg";
import { namedStatement, withTransaction, type Executor } from "../named";
import { TERMINAL_STATUSES } from "../status";
import { PRE_TRANSMISSION_FAILURES } from "./attempt-outcome";

// The health pass's writes (ADR 0022), one statement each: a sender's status change and its
// sender_events row commit together, so the outbox never misses a change nor holds one that
// did not happen. Here rather than in the sender-worker because they are the fleet's rules
// (unseen, auto-pause's window and threshold) that the api will want to explain.

/** Constants of ours, as SQL literals (no quote can occur in them). */
const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/** Automatic pause looks at a sender's last this many finished attempts… */
export const AUTO_PAUSE_WINDOW = 10;
/** …and pauses it when this many failed with the same pre-transmission reason. */
export const AUTO_PAUSE_THRESHOLD = 5;
/** Attempts older than this never count towards an automatic pause. */
const AUTO_PAUSE_MAX_AGE = "24 hours";
/** A sender is looked at only if one of its attempts failed this recently. */
const AUTO_PAUSE_RECENT_FAILURE = "1 hour";

/** A sender the pass moved, with the status it entered. */
export type SenderChange = { senderId: string; accountId: string; status: "offline" | "active" | "paused"; pausedReason: string | null };

type ChangeRow = { id: string; account_id: string; status: "offline" | "active" | "paused"; paused_reason: string | null };
const toChange = (r: ChangeRow): SenderChange => ({ senderId: r.id, accountId: r.account_id, status: r.status, pausedReason: r.paused_reason });

/** The columns of a changed sender its event needs. */
const CHANGED_COLUMNS = `s.id, s.account_id, s.device_id, s.sim_number, s.phone_number, s.carrier, s.label, s.status,
  s.paused_reason, s.rate_per_minute, s.daily_cap, s.monthly_unique_cap, s.last_seen_at, s.health, s.created_at, s.updated_at`;

/** An instant as the api's JSON writes it (Date.toISOString). */
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * `payload`: the sender as GET /senders/:id shows it (services/api fleet/serialize.ts), as the
 * api's own sender.paused does, from the UPDATE's `changed` rows; all but `usage`, a counter
 * of the day rather than the sender's state.
 */
const EVENTS_FROM_CHANGED = (type: string) => `
  events as (
    insert into sender_events (sender_id, owner_user_id, type, payload)
    select c.id, g.owner_user_id, '${type}', jsonb_build_object(
      'id', c.id, 'accountId', c.account_id, 'shared', g.owner_user_id is null, 'deviceId', c.device_id,
      'simNumber', c.sim_number, 'phoneNumber', c.phone_number, 'carrier', c.carrier, 'label', c.label,
      'status', c.status, 'pausedReason', c.paused_reason,
      'limits', jsonb_build_object('ratePerMinute', c.rate_per_minute, 'dailyCap', c.daily_cap, 'monthlyUniqueCap', c.monthly_unique_cap),
      'lastSeenAt', ${iso("c.last_seen_at")}, 'health', c.health,
      'createdAt', ${iso("c.created_at")}, 'updatedAt', ${iso("c.updated_at")})
    from changed c join gateway_accounts g on g.id = c.account_id
    returning sender_id
  )`;

/** A sender is unseen when neither a ping nor a sync saw it for $1 seconds (ADR 0022 "Liveness"). */
const UNSEEN = `coalesce(s.last_seen_at, s.created_at) < now() - make_interval(secs => $1)`;

const MARK_OFFLINE = namedStatement<ChangeRow>(
  "inboxerr_health_mark_offline",
  `
  with changed as (
    update senders s set status = 'offline'
    where s.status = 'active' and ${UNSEEN}
    returning ${CHANGED_COLUMNS}
  ), ${EVENTS_FROM_CHANGED("sender.offline")}
  select id, account_id, status, paused_reason from changed`,
);

const MARK_ONLINE = namedStatement<ChangeRow>(
  "inboxerr_health_mark_online",
  `
  with changed as (
    update senders s set status = 'active'
    where s.status = 'offline' and not (${UNSEEN})
    returning ${CHANGED_COLUMNS}
  ), ${EVENTS_FROM_CHANGED("sender.online")}
  select id, account_id, status, paused_reason from changed`,
);

/**
 * `active` senders that went unseen become `offline`; `offline` ones seen again become
 * `active`. Paused and retired senders are never touched (an admin's pause stays). Each
 * change writes its sender.offline / sender.online event in the same statement. Neither
 * touches status_changed_at: it starts automatic pause's window, which only a pause or a
 * resume resets, so a flapping phone cannot wipe the failures that would pause it.
 */
export async function markSendersOffline(db: Executor, offlineAfterSeconds: number): Promise<SenderChange[]> {
  return (await MARK_OFFLINE.run(db, [offlineAfterSeconds])).rows.map(toChange);
}

/** See markSendersOffline. */
export async function markSendersOnline(db: Executor, offlineAfterSeconds: number): Promise<SenderChange[]> {
  return (await MARK_ONLINE.run(db, [offlineAfterSeconds])).rows.map(toChange);
}

// The reason is matched as a whole word, as isPreTransmissionFailure does: gateways put the
// code in free text. The window is per sender, by the index on (sender_id, created_at).
const AUTO_PAUSE = namedStatement<ChangeRow>(
  "inboxerr_health_auto_pause",
  `
  with counted as (
    select s.id as sender_id, c.code, count(*) as k
    from senders s
    cross join lateral (
      select a.status, a.error from message_attempts a
      where a.sender_id = s.id
        -- Finished: it left the phone or failed; a cancel says nothing about the SIM.
        and a.status in ('sent', 'delivered', 'failed')
        and a.created_at >= coalesce(s.status_changed_at, '-infinity')
        and a.created_at > now() - interval '${AUTO_PAUSE_MAX_AGE}'
      order by a.created_at desc
      limit ${AUTO_PAUSE_WINDOW}
    ) a
    join unnest(array[${quoted(PRE_TRANSMISSION_FAILURES)}]::text[]) as c(code)
      on a.status = 'failed' and a.error ~ ('(^|[^A-Z_])' || c.code || '($|[^A-Z_])')
    where s.status = 'active'
      -- Only a new failure can tip a sender over, and the pass runs every few seconds: a
      -- sender without one in the last hour is skipped (message_attempts_sender_id_failed_at_idx).
      and exists (
        select 1 from message_attempts f
        where f.sender_id = s.id and f.status = 'failed' and f.failed_at > now() - interval '${AUTO_PAUSE_RECENT_FAILURE}'
      )
    group by s.id, c.code
    having count(*) >= ${AUTO_PAUSE_THRESHOLD}
  ), worst as (
    select distinct on (sender_id) sender_id, code, k from counted order by sender_id, k desc, code
  ), changed as (
    update senders s set
      status = 'paused',
      paused_reason = 'auto: ' || w.code || ' in ' || w.k || ' of the last ${AUTO_PAUSE_WINDOW} attempts',
      status_changed_at = now()
    from worst w
    where s.id = w.sender_id and s.status = 'active'
    returning ${CHANGED_COLUMNS}
  ), ${EVENTS_FROM_CHANGED("sender.paused")}
  select id, account_id, status, paused_reason from changed`,
);

/**
 * Pauses every `active` sender whose last AUTO_PAUSE_WINDOW finished attempts made since its
 * status last changed (and within 24 h) hold AUTO_PAUSE_THRESHOLD or more failures with the
 * same pre-transmission reason, with `paused_reason = 'auto: <REASON> in <k> of the last 10
 * attempts'` and a sender.paused event. A resume resets status_changed_at, so the failures
 * before it no longer count.
 */
export async function autoPauseSenders(db: Executor): Promise<SenderChange[]> {
  return (await AUTO_PAUSE.run(db, [])).rows.map(toChange);
}

/** An attempt failover asked the gateway to cancel, and the account to ask through. */
export type FailoverCandidate = { attemptId: string; messageId: string; accountId: string };

/** An attempt failover may ask about: accepted (not yet sent) over $2 s ago, and not asked in the last $1 s. */
const ASKABLE = `a.status = 'accepted'
      and a.accepted_at < now() - make_interval(secs => $2)
      and (a.cancel_requested_at is null or a.cancel_requested_at < now() - make_interval(secs => $1))`;

// Two index-backed sources, so a healthy fleet reads nothing: the accepted attempts of unseen
// senders (message_attempts_sender_id_accepted_at_idx, per sender), and attempts asked about
// before and still accepted, whatever their sender now (message_attempts_cancel_requested_at_idx):
// a cancel whose answer was lost, or that the process died before applying, is asked again
// even once the phone is back. `for update skip locked`: a report (webhook-ingest) moving the
// same attempt wins, and the next pass sees what it left; the conditions are checked again on
// the locked row.
const CLAIM_FAILOVER = namedStatement<{ id: string; message_id: string; account_id: string }>(
  "inboxerr_health_claim_failover",
  `
  with found as (
    select a.id, a.accepted_at
    from (select s.id from senders s where ${UNSEEN}) s
    cross join lateral (
      select a.id, a.accepted_at from message_attempts a
      join messages m on m.id = a.message_id
      where a.sender_id = s.id and ${ASKABLE}
        and m.status not in (${quoted(TERMINAL_STATUSES)})
      order by a.accepted_at
      limit $3
    ) a
    union
    (select a.id, a.accepted_at from message_attempts a
      join messages m on m.id = a.message_id
      where a.cancel_requested_at < now() - make_interval(secs => $1) and ${ASKABLE}
        and m.status not in (${quoted(TERMINAL_STATUSES)})
      order by a.cancel_requested_at
      limit $3)
  ), picked as (
    select a.id from message_attempts a
    where a.id in (select id from found order by accepted_at limit $3) and ${ASKABLE}
    for update of a skip locked
  )
  update message_attempts a set cancel_requested_at = now()
  from picked p, senders s
  where a.id = p.id and s.id = a.sender_id
  returning a.id, a.message_id, s.account_id`,
);

/**
 * Failover's candidates (ADR 0022): attempts `accepted` more than `failoverAfterSeconds` ago, of
 * an unfinished message, whose cancel was not requested in the last `offlineAfterSeconds`, that
 * are on a sender unseen for `offlineAfterSeconds` (whatever its status) or whose cancel was
 * requested before (whatever their sender now); oldest first, at most `limit`. Their
 * cancel_requested_at is set in the same statement, before any gateway call.
 */
export async function claimFailoverCandidates(
  db: pg.Pool | { $client: pg.Pool },
  opts: { offlineAfterSeconds: number; failoverAfterSeconds: number; limit: number },
): Promise<FailoverCandidate[]> {
  const { rows } = await withTransaction(db, async (tx) => {
    // The planner cannot know how few senders are unseen (a third, it guesses), so it prices
    // the per-sender scans high enough for JIT: ~1.4 s compiling a statement that runs in
    // under 1 ms on a healthy fleet (EXPLAIN ANALYZE, 200 senders, 196k stale accepted attempts).
    await tx.query("set local jit = off");
    return CLAIM_FAILOVER.run(tx, [opts.offlineAfterSeconds, opts.failoverAfterSeconds, opts.limit]);
  });
  return rows.map((r) => ({ attemptId: r.id, messageId: r.message_id, accountId: r.account_id }));
}

const MARK_UNCONFIRMED = namedStatement(
  "inboxerr_health_mark_unconfirmed",
  `
  update messages m set waiting_reason = 'failover_unconfirmed'
  from message_attempts a
  where a.id = any($1::uuid[]) and m.id = a.message_id
    -- Only while that attempt is still the message's live one and nothing moved it on.
    and a.status = 'accepted' and m.status in ('sending', 'accepted')
    and m.waiting_reason is distinct from 'failover_unconfirmed'`,
);

/** Says on each attempt's message that its cancel is not confirmed (nothing is resent). */
export async function markFailoverUnconfirmed(db: Executor, attemptIds: readonly string[]): Promise<void> {
  if (attemptIds.length === 0) return;
  await MARK_UNCONFIRMED.run(db, [attemptIds]);
}

