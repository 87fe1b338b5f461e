import { allowedFrom, TERMINAL_STATUSES } from "../status";
import { DUE_AT, EVENT_INSERT, eventErrorSql, latencyMsSql, moveAssignments, statusList } from "./state-machine.sql";

/** The statuses a gateway report can move a message to. */
export const REPORT_TARGETS = ["sent", "delivered", "failed"] as const;

// What a report-batch step may follow; from the state machine's own table, like transitionMany's predicate.
const FROM_SENT = statusList(allowedFrom("sent"));
const FROM_DELIVERED = statusList(allowedFrom("delivered"));
const FROM_FAILED = statusList(allowedFrom("failed"));
const TERMINAL = statusList(TERMINAL_STATUSES);

/**
 * A whole batch in ONE statement, so one round trip and one commit: the phone is waiting, and
 * under load the round trips, not the work, are what it waits for. In order:
 * 1. records every envelope (ON CONFLICT DO NOTHING); only the ones that were new act;
 * 2. locks the messages named, in id order (one MATERIALIZED pass), so concurrent batches and
 *    replicas queue on them instead of deadlocking;
 * 3. plays each unfinished message's new reports in arrival order: `sms:sent` records
 *    partsCount and moves it to `sent`; each `sms:delivered` adds a part, and the message is
 *    delivered when the parts reach coalesce(parts_expected, segments), also when `sms:sent`
 *    comes after its parts; `sms:failed` fails it with the reason; no status follows the
 *    report that finishes it. Phone times (UTC) stamp `<status>_at`. A message that was
 *    already finished changes nothing (a late `sms:sent` never moves a delivered one back);
 * 4. applies that as transitionMany does (invariant 3), with the same generated SET list
 *    (moveAssignments: status, stamps, updated_at) and outbox insert: one UPDATE per message
 *    plus one message_events row per status entered, occurred_at = server time;
 * 5. stores received SMS, owned by the user whose latest message to that number reached
 *    `accepted` or later (the gateway had it, so a reply is plausible), else NULL: the admins.
 * Why not transitionMany: it is a statement per step inside a transaction of its own, four
 * or more round trips a batch (ADR 0004). Everything that encodes the state machine (allowed
 * moves, terminal statuses, stamps, latency) is generated from status.ts like transitionMany's,
 * and status-writer/agreement.test.ts checks the two agree on every (from, to) pair.
 * $1 is the batch as JSON (see batchJson): one row per envelope, `seq` its arrival order.
 */
export const REPORT_BATCH_SQL = `
    with v as (
      select * from jsonb_to_recordset($1::jsonb) as v(
        seq int, envelope_id text, event text, device_id text, message_id text, payload jsonb, msg uuid, kind text,
        ts timestamptz, parts_count int, reason text, from_number text, body text, received_at timestamptz)
    ),
    env as (
      insert into gateway_webhook_events (envelope_id, event, device_id, message_id, payload)
      select envelope_id, event, device_id, message_id, payload from v
      on conflict (envelope_id) do nothing
      returning envelope_id
    ),
    fresh as (select v.* from v join env using (envelope_id)),
    locked as materialized (
      select id, user_id, status, parts_delivered, parts_expected, segments, ${DUE_AT} as due_at
      from messages m
      where id in (select msg from v where msg is not null)
      order by id
      for update
    ),
    -- New reports on unfinished messages, in arrival order, with the part counters as they
    -- stand after each one (SMS Gate sends one sms:sent per message, so "the" partsCount).
    -- Every report of the batch counts towards the counters; statuses stop at the finishing one.
    reports as (
      select f.msg as id, f.envelope_id, f.event, f.kind, f.ts, f.reason, f.seq,
        l.status as s0, l.user_id, l.due_at, l.segments, l.parts_delivered as pd0, l.parts_expected as pe0,
        l.parts_delivered + count(*) filter (where f.kind = 'delivered') over w as pd,
        coalesce(max(f.parts_count) over w, l.parts_expected) as pe
      from fresh f join locked l on l.id = f.msg
      where l.status not in (${TERMINAL})
      window w as (partition by f.msg order by f.seq rows unbounded preceding)
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
    inbound as (
      insert into inbound_messages (user_id, from_number, text, device_id, envelope_id, received_at)
      select
        (select m.user_id from messages m
          where m.to = f.from_number
            and (m.status in ('accepted', 'sent', 'delivered') or m.accepted_at is not null or m.sent_at is not null)
          order by m.created_at desc
          limit 1),
        f.from_number, f.body, f.device_id, f.envelope_id, f.received_at
      from fresh f
      where f.kind = 'received'
      on conflict (envelope_id) do nothing
    )
    select 'e' as kind, envelope_id as id, null as message_id, null as user_id, null as status, null::timestamptz as occurred_at, null::bigint as latency_ms,
      null::uuid as sender_id, null as error from env
    union all
    select 'a', r.envelope_id, null, null, null, null, null, null, null from reports r join upd u on u.id = r.id
    union all
    select 'v', id::text, message_id::text, user_id::text, status, occurred_at, latency_ms, sender_id, error from ev`;
