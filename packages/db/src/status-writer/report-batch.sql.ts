import { DEFAULT_ACCOUNT_NAME, LIVE_ATTEMPT_STATUSES } from "../schema/fleet";
import { allowedFrom, TERMINAL_STATUSES } from "../status";
import { DUE_AT, EVENT_INSERT, eventErrorSql, latencyMsSql, moveAssignments, statusList } from "./state-machine.sql";

/** The statuses a gateway report can move a message to. */
export const REPORT_TARGETS = ["sent", "delivered", "failed"] as const;

// What a report-batch step may follow; from the state machine's own table, like transitionMany's predicate.
const FROM_SENT = statusList(allowedFrom("sent"));
const FROM_DELIVERED = statusList(allowedFrom("delivered"));
const FROM_FAILED = statusList(allowedFrom("failed"));
const TERMINAL = statusList(TERMINAL_STATUSES);
const LIVE_ATTEMPT = LIVE_ATTEMPT_STATUSES.map((s) => `'${s}'`).join(", ");

/**
 * A whole batch in ONE statement, so one round trip and one commit: the phone is waiting, and
 * under load the round trips, not the work, are what it waits for. In order:
 * 1. records every envelope (ON CONFLICT DO NOTHING); only the ones that were new act;
 * 2. resolves each report's id: a gateway id is an attempt id (ADR 0019), so it names that
 *    attempt's message; an id no attempt has names the message of that id when the message has
 *    no attempts at all (part-1 rows written before attempts existed, tests' direct inserts);
 *    A report that came through an account's own URL (`account`) names only attempts made
 *    through that account's senders; anything else it names is stored, never applied;
 * 3. locks the messages named, in id order (one MATERIALIZED pass), then their attempts named,
 *    in id order (the claim's order too: message, then attempt), so concurrent batches and
 *    replicas queue on them instead of deadlocking. The attempt rows read are the locked, i.e.
 *    current, versions;
 * 4. a report **tracks** its message when its attempt is live (sending|accepted|sent): one live
 *    attempt per message, and a new one only after the previous ended, so a live attempt is the
 *    latest (highest n), and no newer one can hide from this statement's snapshot. Part-1
 *    reports (no attempt) track too. Reports on an ended attempt never move the message;
 * 5. a pre-transmission failure ($1's pre_tx, from isPreTransmissionFailure) on a tracking
 *    attempt still `sending|accepted` (no sent report yet), as its first report in the batch,
 *    on an unfinished message with fewer than $2 (SEND_MAX_ATTEMPTS) attempt rows, cancelled ones
 *    aside, **re-attempts**: the attempt fails with the reason, the message is left as it is (no
 *    event), and a row kind 'r' tells the caller to add the next attempt's sms-send job after
 *    commit. A `cancelled` report (ADR 0022) on such an attempt, as its first in the batch, does
 *    the same whatever the count (the attempt ends `cancelled`), with no 'r' row when the
 *    message is finished. Later reports on that attempt in the batch no longer track;
 * 6. plays each unfinished message's tracking reports in arrival order: `sms:sent` records
 *    partsCount and moves it to `sent`; each `sms:delivered` adds a part, and the message is
 *    delivered when the parts reach coalesce(parts_expected, segments), also when `sms:sent`
 *    comes after its parts; `sms:failed` fails it with the reason; no status follows the
 *    report that finishes it. Phone times (UTC) stamp `<status>_at`. A message that was
 *    already finished changes nothing (a late `sms:sent` never moves a delivered one back);
 * 7. applies that as transitionMany does (invariant 3), with the same generated SET list
 *    (moveAssignments: status, stamps, updated_at) and outbox insert: one UPDATE per message
 *    plus one message_events row per status entered, occurred_at = server time;
 * 8. updates each attempt named, forward only (sending → accepted → sent → delivered, and
 *    failed from a live status; delivered, failed and cancelled are final): a tracking attempt
 *    takes the status its message entered here; a re-attempted one fails; any other (a live
 *    attempt of a finished message, or an ended one) folds its own reports: the first failure
 *    or delivery ends a live one, a sent report moves it to sent. A sent or delivered report
 *    stamps sent_at/delivered_at when unset even on an ended attempt: the evidence that a
 *    cancelled or failed attempt left the phone after all is kept (on a cancelled one, a row kind
 *    'x' tells the caller to warn);
 * 9. stores received SMS, owned by the user whose latest message to that number reached
 *    `accepted` or later (the gateway had it, so a reply is plausible), else NULL: the admins.
 *    Through an account's own URL (ADR 0020): a private account's SMS is its owner's, always
 *    (their phone, and their key could forge it); a shared account's goes by the same rule
 *    among messages whose attempts one of its senders had accepted or sent, else NULL;
 * 10. marks the senders of each pinging device seen (system:ping, ADR 0022): last_seen_at moves
 *    forward to now(), health takes the ping's payload; the account is the one the ping came
 *    through, the `default` one through the legacy URL. Status is the health pass's, not ours.
 * Why not transitionMany: it is a statement per step inside a transaction of its own, four
 * or more round trips a batch (ADR 0004). Everything that encodes the state machine (allowed
 * moves, terminal statuses, stamps, latency) is generated from status.ts like transitionMany's,
 * and status-writer/agreement.test.ts checks the two agree on every (from, to) pair.
 * $1 is the batch as JSON (see batchJson): one row per envelope, `seq` its arrival order.
 * $2 is SEND_MAX_ATTEMPTS.
 */
export const REPORT_BATCH_SQL = `
    with v as (
      select * from jsonb_to_recordset($1::jsonb) as v(
        seq int, envelope_id text, event text, device_id text, message_id text, payload jsonb, msg uuid, kind text, account uuid,
        ts timestamptz, parts_count int, reason text, pre_tx boolean, from_number text, body text, received_at timestamptz)
    ),
    env as (
      insert into gateway_webhook_events (envelope_id, event, device_id, message_id, payload)
      select envelope_id, event, device_id, message_id, payload from v
      on conflict (envelope_id) do nothing
      returning envelope_id
    ),
    fresh as (select v.* from v join env using (envelope_id)),
    -- Each id named, resolved to its message: an attempt's, else (part 1) the message of that id
    -- if it has no attempts. attempt.message_id never changes, so a plain read is enough here.
    named as (
      select n.msg, coalesce(a.message_id, m.id) as mid, a.id as aid
      from (select distinct msg from v where msg is not null) n
      left join message_attempts a on a.id = n.msg
      left join messages m on a.id is null and m.id = n.msg
        and not exists (select 1 from message_attempts x where x.message_id = m.id)
      where a.id is not null or m.id is not null
    ),
    locked as materialized (
      select id, user_id, status, parts_delivered, parts_expected, segments, priority, ${DUE_AT} as due_at
      from messages m
      where id in (select mid from named)
      order by id
      for update
    ),
    -- After the messages (the join reads all of locked first): the current version of each.
    att as materialized (
      select a.id, a.message_id, a.status, a.sent_at, a.delivered_at,
        (select s.account_id from senders s where s.id = a.sender_id) as account_id,
        (select count(*) from message_attempts c where c.message_id = a.message_id) as rows_n,
        -- Cancelled attempts provably never left the phone: they do not use up SEND_MAX_ATTEMPTS.
        (select count(*) from message_attempts c where c.message_id = a.message_id and c.status <> 'cancelled') as counted_n
      from message_attempts a
      where a.id in (select aid from named where aid is not null)
        and a.message_id in (select id from locked)
      order by a.id
      for update of a
    ),
    r0 as (
      select f.seq, f.envelope_id, f.event, f.kind, f.ts, f.reason, f.parts_count, n.mid, n.aid, a.status as a0,
        (n.aid is null or a.status in (${LIVE_ATTEMPT})) as live,
        a.status in ('sending', 'accepted')
          and ((f.kind = 'failed' and f.pre_tx and a.counted_n < $2 and l.status not in (${TERMINAL})) or f.kind = 'cancelled')
          and count(*) over (partition by n.aid order by f.seq rows between unbounded preceding and 1 preceding) = 0 as may_retry
      from fresh f
      join named n on n.msg = f.msg
      join locked l on l.id = n.mid
      left join att a on a.id = n.aid
      where (n.aid is null or a.id is not null)
        -- Through an account's own URL: only attempts made through that account's senders.
        and (f.account is null or a.account_id = f.account)
    ),
    rr as (select r0.*, min(seq) filter (where may_retry) over (partition by aid) as retry_seq from r0),
    -- The reports that speak for their message: tracking, and not at or after a re-attempt.
    tracking as (select * from rr where live and (retry_seq is null or seq < retry_seq)),
    -- New tracking reports on unfinished messages, in arrival order, with the part counters as
    -- they stand after each one (SMS Gate sends one sms:sent per message, so "the" partsCount).
    -- Every report of the batch counts towards the counters; statuses stop at the finishing one.
    reports as (
      select f.mid as id, f.aid, f.envelope_id, f.event, f.kind, f.ts, f.reason, f.seq,
        l.status as s0, l.user_id, l.due_at, l.segments, l.parts_delivered as pd0, l.parts_expected as pe0,
        l.parts_delivered + count(*) filter (where f.kind = 'delivered') over w as pd,
        coalesce(max(f.parts_count) over w, l.parts_expected) as pe
      from tracking f join locked l on l.id = f.mid
      where l.status not in (${TERMINAL})
      window w as (partition by f.mid order by f.seq rows unbounded preceding)
    ),
    -- The report that finishes each message, if any: a failure, or the one that brings the
    -- delivered parts up to the expected count.
    ends as (
      select id, min(seq) filter (where kind = 'failed' or (pd > 0 and pd >= coalesce(pe, segments))) as end_seq
      from reports group by id
    ),
    steps as (
      (select distinct on (r.id) r.id, r.envelope_id, r.event, 'sent' as status, 1 as step, r.ts, null as error
        from reports r join ends e using (id)
        where r.kind = 'sent' and r.s0 in (${FROM_SENT}) and r.seq <= coalesce(e.end_seq, r.seq)
        order by r.id, r.seq)
      union all
      -- Delivered at the phone's time, or ours when sms:sent completes parts that overtook it.
      select r.id, r.envelope_id, r.event, 'delivered', 2, case when r.kind = 'delivered' then r.ts end, null
        from reports r join ends e on e.id = r.id and e.end_seq = r.seq
        where r.kind <> 'failed' and r.s0 in (${FROM_DELIVERED})
      union all
      select r.id, r.envelope_id, r.event, 'failed', 2, r.ts, r.reason
        from reports r join ends e on e.id = r.id and e.end_seq = r.seq
        where r.kind = 'failed' and r.s0 in (${FROM_FAILED})
    ),
    final as (
      select m.*, t.*
      from (
        select id, s0, pd0, pe0, (array_agg(pd order by seq desc))[1] as pd, (array_agg(pe order by seq desc))[1] as pe
        from reports group by id, s0, pd0, pe0
      ) m left join lateral (
        select (array_agg(s.status order by s.step desc))[1] as status,
          ${REPORT_TARGETS.map((t) => `bool_or(s.status = '${t}') as to_${t}, max(s.ts) filter (where s.status = '${t}') as ${t}_at,`).join("\n          ")}
          max(s.error) as error
        from steps s where s.id = m.id
      ) t on true
    ),
    upd as (
      update messages m set
        ${moveAssignments({
          to: "f.status",
          targets: REPORT_TARGETS,
          entered: (s) => `f.to_${s}`,
          at: (s) => `f.${s}_at`,
        })},
        error = coalesce(f.error, m.error),
        parts_delivered = f.pd,
        parts_expected = f.pe
      from final f
      -- No status guard here: the row is already ours (locked), and a guard would be checked
      -- against this statement's snapshot, which may predate a change we waited for in
      -- locked, skipping the row silently. Without one, Postgres updates the latest version.
      where m.id = f.id
        and (f.status is not null or f.pd <> f.pd0 or f.pe is distinct from f.pe0)
      returning m.id, m.user_id, ${DUE_AT} as due_at, m.sender_id, m.error
    ),
    ev as (
      ${EVENT_INSERT}
      select s.id, u.user_id, s.status, ${latencyMsSql("u.due_at")},
        jsonb_strip_nulls(jsonb_build_object('source', 'sms-gate', 'event', s.event, 'envelopeId', s.envelope_id, 'reason', s.error)),
        u.sender_id, ${eventErrorSql("s.status", "u.error")}
      from steps s join upd u on u.id = s.id
      order by s.id, s.step
      returning id, message_id, user_id, status, occurred_at, latency_ms, sender_id, error
    ),
    -- Per attempt named by a new report: what it becomes (step 8). Tracking attempts of a
    -- message in the fold take its outcome; the rest fold their own reports.
    afold as (
      select r.aid, r.mid, min(r.a0) as a0, min(r.retry_seq) as retry_seq,
        bool_or(r.live and r.seq < coalesce(r.retry_seq, r.seq + 1)) as tracked,
        min(r.seq) filter (where r.kind in ('failed', 'delivered')) as end_seq,
        bool_or(r.kind = 'sent') as any_sent,
        coalesce(min(r.ts) filter (where r.kind = 'sent'), now()) as sent_ts,
        bool_or(r.kind = 'delivered') as any_delivered,
        coalesce(min(r.ts) filter (where r.kind = 'delivered'), now()) as delivered_ts
      from rr r where r.aid is not null
      group by r.aid, r.mid
    ),
    anext as (
      select a.aid, a.mid, a.a0, e.kind as end_kind, e.reason as end_reason, e.ts as end_ts,
        case
          when a.retry_seq is not null then case when x.kind = 'cancelled' then 'cancelled' else 'failed' end
          when a.tracked and l.status not in (${TERMINAL}) then coalesce(f.status, a.a0)
          when a.a0 in (${LIVE_ATTEMPT}) and e.kind = 'failed' then 'failed'
          when a.a0 in (${LIVE_ATTEMPT}) and e.kind = 'delivered' then 'delivered'
          when a.a0 in ('sending', 'accepted') and a.any_sent then 'sent'
          else a.a0
        end as status,
        case when a.tracked and l.status not in (${TERMINAL}) then f.to_sent else a.any_sent end as to_sent,
        case when a.tracked and l.status not in (${TERMINAL}) then f.sent_at else a.sent_ts end as sent_at,
        case when a.tracked and l.status not in (${TERMINAL}) then f.to_delivered else a.any_delivered end as to_delivered,
        case when a.tracked and l.status not in (${TERMINAL}) then f.delivered_at else a.delivered_ts end as delivered_at,
        case when a.retry_seq is not null then x.reason when a.tracked and l.status not in (${TERMINAL}) then f.error else e.reason end as error,
        case when a.retry_seq is not null then x.ts when a.tracked and l.status not in (${TERMINAL}) then f.failed_at else e.ts end as failed_at,
        case when a.retry_seq is not null then x.ts end as cancelled_at
      from afold a
      join locked l on l.id = a.mid
      left join final f on f.id = a.mid
      left join rr e on e.aid = a.aid and e.seq = a.end_seq
      left join rr x on x.aid = a.aid and x.seq = a.retry_seq
    ),
    aupd as (
      update message_attempts t set
        status = n.status,
        sent_at = case when coalesce(n.to_sent, false) then coalesce(t.sent_at, n.sent_at, now()) else t.sent_at end,
        delivered_at = case when coalesce(n.to_delivered, false) then coalesce(t.delivered_at, n.delivered_at, now()) else t.delivered_at end,
        failed_at = case when n.status = 'failed' and n.a0 <> 'failed' then coalesce(n.failed_at, now()) else t.failed_at end,
        error = case when n.status = 'failed' and n.a0 <> 'failed' then n.error else t.error end,
        cancelled_at = case when n.status = 'cancelled' and n.a0 <> 'cancelled' then coalesce(n.cancelled_at, now()) else t.cancelled_at end,
        updated_at = now()
      from anext n
      where t.id = n.aid
        and (n.status <> n.a0
          or (coalesce(n.to_sent, false) and t.sent_at is null)
          or (coalesce(n.to_delivered, false) and t.delivered_at is null))
      returning t.id, t.status, t.sent_at, t.delivered_at
    ),
    -- A device's system:ping (ADR 0022): its senders of the account it came through (the legacy
    -- URL: the default account's) are seen now, forward only, and the payload is their health.
    pings as (
      select f.envelope_id, f.seq, f.device_id, f.payload->'payload' as health,
        coalesce(f.account, (select g.id from gateway_accounts g where g.owner_user_id is null and g.name = '${DEFAULT_ACCOUNT_NAME}')) as account
      from fresh f
      where f.kind = 'ping' and f.device_id is not null
    ),
    pinged as (
      update senders s set
        last_seen_at = greatest(coalesce(s.last_seen_at, '-infinity'), now()),
        health = p.health
      from (select distinct on (account, device_id) * from pings order by account, device_id, seq desc) p
      where s.account_id = p.account and s.device_id = p.device_id
      returning s.account_id, s.device_id
    ),
    inbound as (
      insert into inbound_messages (user_id, from_number, text, device_id, envelope_id, received_at)
      select
        case
          -- The env's account (legacy URL, or the default account's id): anyone's reply.
          when f.account is null then
            (select m.user_id from messages m
              where m.to = f.from_number
                and (m.status in ('accepted', 'sent', 'delivered') or m.accepted_at is not null or m.sent_at is not null)
              order by m.created_at desc
              limit 1)
          -- A private account: the SMS is on its owner's phone, and theirs alone.
          when g.owner_user_id is not null then g.owner_user_id
          -- A shared account: only messages one of its senders handed to the gateway.
          else
            (select m.user_id from messages m
              where m.to = f.from_number
                and exists (
                  select 1 from message_attempts a join senders s on s.id = a.sender_id
                  where a.message_id = m.id and s.account_id = f.account
                    and (a.status in ('accepted', 'sent', 'delivered') or a.accepted_at is not null or a.sent_at is not null))
              order by m.created_at desc
              limit 1)
        end,
        f.from_number, f.body, f.device_id, f.envelope_id, f.received_at
      from fresh f
      left join gateway_accounts g on g.id = f.account
      where f.kind = 'received'
      on conflict (envelope_id) do nothing
    )
    select 'e' as kind, envelope_id as id, null as message_id, null as user_id, null as status, null::timestamptz as occurred_at, null::bigint as latency_ms,
      null::uuid as sender_id, null as error, null::int as n, null::int as priority from env
    union all
    select 'a', r.envelope_id, null, null, null, null, null, null, null, null, null from reports r join upd u on u.id = r.id
    union all
    select 'a', r.envelope_id, null, null, null, null, null, null, null, null, null from rr r join aupd u on u.id = r.aid
    union all
    select 'v', id::text, message_id::text, user_id::text, status, occurred_at, latency_ms, sender_id, error, null, null from ev
    union all
    -- Re-attempts: the caller adds sms-send job sendJobId(message, n) after commit.
    select distinct 'r', r.aid::text, r.mid::text, null, null, null::timestamptz, null::bigint, null::uuid, null, (a.rows_n + 1)::int, l.priority::int
      from rr r join att a on a.id = r.aid join locked l on l.id = r.mid
      where r.seq = r.retry_seq and l.status not in (${TERMINAL})
    union all
    select 'a', p.envelope_id, null, null, null, null, null, null, null, null, null
      from pings p where exists (select 1 from pinged s where s.account_id = p.account and s.device_id = p.device_id)
    union all
    -- The gateway said cancelled, and then sent (or delivered): the caller warns an operator.
    select 'x', n.aid::text, n.mid::text, null, null, null, null, null, null, null, null
      from anext n join aupd u on u.id = n.aid
      where u.status = 'cancelled' and (coalesce(n.to_sent, false) or coalesce(n.to_delivered, false))`;
