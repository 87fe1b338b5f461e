import { MicroBatcher, waitAtMost } from "@inboxerr/batch";
import { namedStatement, openSecret, type Db, type SecretsKey } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { retryDelayMs, type TargetPolicy } from "@inboxerr/webhooks";
import type { DeliveryOutcome, DispatcherInstruments } from "../prometheus";
import { createWebhookHttp, type AttemptResult, type WebhookHttp } from "./http";

export type DeliverySettings = {
  timeoutMs: number;
  /** WEBHOOK_RETRY_SCHEDULE, seconds. */
  schedule: readonly number[];
  /** Attempts in flight per replica (WEBHOOK_CONCURRENCY). */
  concurrency: number;
  /** Attempts in flight per endpoint and replica (WEBHOOK_ENDPOINT_CONCURRENCY). */
  endpointConcurrency: number;
  disableAfterDays: number;
  policy: TargetPolicy;
  /** Opens the endpoints' sealed secrets; without it nothing is leased or sent. */
  secretsKey: SecretsKey | undefined;
  /** How often the due loop looks when it has nothing to do (default 250 ms). */
  idleIntervalMs?: number;
  /**
   * How often an idle loop claims anyway, without the probe's word (default 5 s): what the
   * probe does not see, leases that lapsed (a killed replica), a re-enabled endpoint's backlog.
   */
  sweepIntervalMs?: number;
};

/** A delivery this replica holds the lease of, with what its next attempt needs. */
export type LeasedDelivery = {
  id: string;
  endpointId: string;
  /** Attempts made before this one. */
  attempts: number;
  /** Attempts since it was last set going (fan-out, retry, replay): its place in the schedule. */
  scheduleStep: number;
  /** leased_until as this replica set it: its outcome is the delivery's while this is still there. */
  lease: string;
  body: string;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
};

/** The columns of a leased row, as the fan-out insert and the claim return them. */
export type LeasedRow = {
  id: string;
  endpoint_id: string;
  attempts: number;
  /** Absent from the fan-out insert's rows: a new delivery is at step 0. */
  schedule_step?: number;
  /** leased_until::text: exact to the microsecond, unlike a Date. */
  lease: string;
  body: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
};

export function toLeased(r: LeasedRow): LeasedDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    attempts: r.attempts,
    scheduleStep: r.schedule_step ?? 0,
    lease: r.lease,
    body: r.body,
    url: r.url,
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousSecretExpiresAt: r.previous_secret_expires_at,
  };
}

/**
 * A lease outlasts the attempt's timeout by this much (the time to write its outcome): the
 * timeout again, between 1 and 15 s. A killed replica's deliveries are due again after it.
 */
function leaseMarginMs(timeoutMs: number): number {
  return Math.min(15_000, Math.max(1_000, timeoutMs));
}

/**
 * Due rows of active endpoints that no one holds, fairly: each active endpoint's oldest due
 * rows, at most its free slots ($2 for the endpoints listed in $1, $3 for the others), through
 * the per-endpoint due index, so a disabled endpoint's backlog is never read and a capped one's
 * (free 0) is not either; then every endpoint's first row before anyone's second, endpoints
 * failing (failing_since) after the healthy ones, $4 in all. Only the rows picked are locked,
 * `skip locked`, and re-checked on their latest version, so replicas claiming at once never
 * lease one row twice.
 */
// Exported for fairness.test.ts, which EXPLAINs it against a disabled endpoint's backlog.
export const CLAIM = namedStatement<LeasedRow & { failing: boolean }>(
  "webhook_dispatcher_claim",
  `with eps as (
     select e.id, coalesce(u.free, $3::int) as free, e.failing_since is not null as failing
     from webhook_endpoints e
     left join unnest($1::uuid[], $2::int[]) as u(endpoint_id, free) on u.endpoint_id = e.id
     where e.status = 'active'
   ), due as (
     select d.id, d.next_attempt_at, eps.failing,
            row_number() over (partition by eps.id order by d.next_attempt_at, d.id) as rn
     from eps cross join lateral (
       select d.id, d.next_attempt_at from webhook_deliveries d
       where d.endpoint_id = eps.id
         and d.status in ('pending', 'failed')
         and d.next_attempt_at <= now()
         and (d.leased_until is null or d.leased_until <= now())
       order by d.next_attempt_at
       limit least(eps.free, $4::int)
     ) d
     where eps.free > 0
   ), picked as (
     select id from due order by failing, rn, next_attempt_at limit $4
   ), locked as (
     select d.id from webhook_deliveries d
     where d.id in (select id from picked)
       and d.status in ('pending', 'failed')
       and (d.leased_until is null or d.leased_until <= now())
     for update skip locked
   )
   update webhook_deliveries d
   set leased_until = now() + $5::int * interval '1 millisecond'
   from locked l, webhook_endpoints e
   where d.id = l.id and e.id = d.endpoint_id
   returning d.id, d.endpoint_id, d.attempts, d.schedule_step, d.leased_until::text as lease, d.payload::text as body,
             e.url, e.secret, e.previous_secret, e.previous_secret_expires_at, e.failing_since is not null as failing`,
);

/**
 * Whether a row of an active endpoint came due, unleased, in the last $1 ms: through the partial
 * index on next_attempt_at, so it reads only the rows that came due in that window, however many
 * endpoints are active and however long the backlog of retries due later or of disabled
 * endpoints' rows due long ago. The idle loop runs it instead of CLAIM (which probes every
 * active endpoint) while the last claim found nothing.
 */
// Exported for idle.test.ts, which EXPLAINs it.
export const DUE_PROBE = namedStatement<{ due: boolean }>(
  "webhook_dispatcher_due_probe",
  `select exists (
     select 1 from webhook_deliveries d
     join webhook_endpoints e on e.id = d.endpoint_id
     where d.status in ('pending', 'failed')
       and d.next_attempt_at <= now()
       and d.next_attempt_at > now() - $1::int * interval '1 millisecond'
       and (d.leased_until is null or d.leased_until <= now())
       and e.status = 'active'
   ) as due`,
);

/**
 * Added to the probe's window: a row made due by a transaction that began before the last claim
 * and committed after it has next_attempt_at = that transaction's start. A slower one is the sweep's.
 */
const PROBE_SLACK_MS = 5_000;

/** Gives back leases a claim took but this replica has no slot for after all. */
const UNLEASE = namedStatement(
  "webhook_dispatcher_unlease",
  `update webhook_deliveries set leased_until = null where id = any($1::uuid[]) and status in ('pending', 'failed')`,
);

type Outcome = {
  id: string;
  endpointId: string;
  /** The lease the attempt was made under: the delivery's state changes only if it still holds it. */
  lease: string;
  status: "succeeded" | "failed" | "exhausted";
  gone: boolean;
  delayMs: number;
  result: AttemptResult;
};

/**
 * Many attempts' outcomes in one statement. Every attempt is counted and gets its attempt row
 * (n = the delivery's attempts after it). Only an outcome whose lease is still the delivery's
 * (`live`) changes its state; a stale one (its lease lapsed and the row was claimed again, or it
 * was handed back) is only logged, and changes no endpoint health. A delivery retried or
 * replayed while in flight (`redeliver`) is made due again now, from the schedule's start,
 * whatever the outcome. The rows are locked first so `live` and `redeliver` are read as they
 * are when written. Then each endpoint's health once (a live success in the batch clears
 * failing_since; a 410 or a failure older than $2 days disables it), written only when that
 * changes something. `disabled_at = now()` in RETURNING marks the endpoints this statement
 * disabled: now() is the statement's transaction time.
 */
const RECORD = namedStatement<{ id: string; disabled_reason: string | null; newly_disabled: boolean }>(
  "webhook_dispatcher_record",
  `with x as (
     select * from json_to_recordset($1::json)
       as x(id uuid, endpoint_id uuid, lease timestamptz, status text, gone boolean, delay_ms float8, code int, error text, response text, duration_ms int)
   ), cur as (
     select d.id, d.leased_until is not distinct from x.lease as live
     from webhook_deliveries d join x on x.id = d.id
     order by d.id
     for update of d
   ), upd as (
     update webhook_deliveries d
     set attempts = d.attempts + 1,
         status = case when not c.live then d.status when d.redeliver then 'pending' else x.status end,
         schedule_step = case when not c.live then d.schedule_step when d.redeliver then 0 else d.schedule_step + 1 end,
         next_attempt_at = case when not c.live then d.next_attempt_at
                                when d.redeliver then now()
                                when x.status = 'failed' then now() + x.delay_ms * interval '1 millisecond'
                                else d.next_attempt_at end,
         leased_until = case when c.live then null else d.leased_until end,
         redeliver = case when c.live then false else d.redeliver end,
         last_status = case when c.live then x.code else d.last_status end,
         last_error = case when c.live then x.error else d.last_error end,
         last_response = case when c.live then x.response else d.last_response end,
         delivered_at = case when x.status = 'succeeded' then now() else d.delivered_at end,
         updated_at = now()
     from x join cur c on c.id = x.id
     where d.id = x.id
     returning d.id, d.attempts, c.live
   ), attempts as (
     insert into webhook_delivery_attempts (delivery_id, n, status_code, error, response, duration_ms)
     select upd.id, upd.attempts, x.code, x.error, x.response, x.duration_ms from upd join x on x.id = upd.id
   ), health as (
     select x.endpoint_id, bool_or(x.status = 'succeeded') as ok, bool_or(x.gone) as gone
     from x join upd on upd.id = x.id and upd.live group by x.endpoint_id
   )
   update webhook_endpoints e
   set last_success_at = case when h.ok then now() else e.last_success_at end,
       failing_since = case when h.ok then null else coalesce(e.failing_since, now()) end,
       status = case when e.status = 'active' and (h.gone or (not h.ok and e.failing_since < now() - $2::float8 * interval '1 day'))
                     then 'disabled' else e.status end,
       disabled_reason = case when e.status <> 'active' then e.disabled_reason
                              when h.gone then '410 Gone from the endpoint'
                              when not h.ok and e.failing_since < now() - $2::float8 * interval '1 day'
                                then 'no successful delivery for ' || $2::float8 || ' days'
                              else e.disabled_reason end,
       disabled_at = case when e.status = 'active' and (h.gone or (not h.ok and e.failing_since < now() - $2::float8 * interval '1 day'))
                          then now() else e.disabled_at end,
       updated_at = now()
   from health h
   where e.id = h.endpoint_id
     -- A healthy endpoint's row is written at most once a second, a failing one's only when
     -- its state changes: thousands of outcomes a second to one endpoint are not as many writes.
     and ((h.ok and (e.failing_since is not null or e.last_success_at is null or e.last_success_at < now() - interval '1 second'))
       or (not h.ok and (e.failing_since is null or h.gone or e.failing_since < now() - $2::float8 * interval '1 day')))
   returning e.id, e.disabled_reason, e.disabled_at = now() as newly_disabled`,
);

/**
 * Text Postgres takes inside a json parameter: JSON.stringify writes a lone surrogate (an
 * error message cut mid-emoji) as \udXXX and NUL as \u0000, and json_to_recordset refuses
 * both, which would fail every outcome of the batch (each delivery then sent again).
 */
export function pgText(text: string | null): string | null {
  return text === null ? null : text.toWellFormed().replaceAll("\0", "");
}

export type DeliveryEngine = {
  /** Takes a slot for one attempt to `endpointId`, if this replica has one free. */
  reserve: (endpointId: string) => boolean;
  /** Gives back a slot reserve() took that will not be used. */
  release: (endpointId: string) => void;
  /** Sends a delivery leased to this replica, in a slot reserve() took for it. */
  deliver: (d: LeasedDelivery) => void;
  /** Due rows may be waiting for a slot: claim as soon as one frees. */
  noteDue: () => void;
  /** Full claims and idle probes run so far (for tests). */
  counts: () => { claims: number; probes: number };
  /** Whether leases can be taken (SECRETS_KEY is set). */
  canDeliver: boolean;
  leaseMs: number;
  inFlight: () => number;
  start: () => void;
  /** Stops claiming, waits (bounded) for attempts in flight, writes their outcomes. */
  close: (boundMs?: number) => Promise<void>;
};

export function createDeliveryEngine(opts: { db: Db; logger: Logger; metrics: DispatcherInstruments; settings: DeliverySettings }): DeliveryEngine {
  const { db, logger, metrics, settings } = opts;
  const http: WebhookHttp = createWebhookHttp({ timeoutMs: settings.timeoutMs, policy: settings.policy });
  const leaseMs = settings.timeoutMs + leaseMarginMs(settings.timeoutMs);
  const idleMs = settings.idleIntervalMs ?? 250;
  const sweepMs = settings.sweepIntervalMs ?? 5_000;
  const perEndpoint = new Map<string, number>();
  let total = 0;
  let moreDue = true;
  /**
   * When the last claim that proved nothing due began (it found no row and gave every endpoint a
   * slot): since then only rows coming due can be due (and what the sweep is for), so the idle
   * loop probes for those. Undefined: the next look is a full claim.
   */
  let settledAt: number | undefined;
  let claims = 0;
  let probes = 0;
  /** Bumped whenever work is noted due, so a claim that ran meanwhile does not forget it. */
  let dueSeq = 0;
  let started = false;
  let stopped = false;
  let claiming: Promise<void> | undefined;
  let claimAgain = false;
  let timer: NodeJS.Timeout | undefined;
  const running = new Set<Promise<void>>();
  const opened = new Map<string, string>();

  // Slots are taken by attempts that cannot be cut short, so a few hanging endpoints could
  // hold them all. Past half the slots, an endpoint not proven healthy (its last outcome here a
  // 2xx, no attempt in flight for long) gets one slot at most, and endpoints known to be bad
  // (failing, or an attempt in flight for long) hold half the slots at most, two each: new
  // events for healthy endpoints still find a slot.
  const half = Math.max(1, Math.floor(settings.concurrency / 2));
  const slowMs = Math.min(2_000, Math.max(100, Math.floor(settings.timeoutMs / 2)));
  /** Start times of the attempts in flight per endpoint, oldest first. */
  const startedAt = new Map<string, number[]>();
  /** Whether each endpoint's last outcome here was a success (absent: not known). */
  const healthy = new Map<string, boolean>();
  const slow = (endpointId: string, now: number): boolean => {
    const oldest = startedAt.get(endpointId)?.[0];
    return oldest !== undefined && now - oldest > slowMs;
  };
  const bad = (endpointId: string, now: number): boolean => healthy.get(endpointId) === false || slow(endpointId, now);
  const badHeld = (now: number): number => {
    let n = 0;
    for (const [id, used] of perEndpoint) if (bad(id, now)) n += used;
    return n;
  };
  const mayTake = (endpointId: string): boolean => {
    const used = perEndpoint.get(endpointId) ?? 0;
    if (total >= settings.concurrency || used >= settings.endpointConcurrency) return false;
    const now = Date.now();
    if (bad(endpointId, now)) return used < 2 && badHeld(now) < half;
    return total < half || used === 0 || healthy.get(endpointId) === true;
  };
  const take = (endpointId: string): void => {
    perEndpoint.set(endpointId, (perEndpoint.get(endpointId) ?? 0) + 1);
    const starts = startedAt.get(endpointId);
    if (starts) starts.push(Date.now());
    else startedAt.set(endpointId, [Date.now()]);
    total++;
  };
  const reserve = (endpointId: string): boolean => {
    if (stopped || !settings.secretsKey || !mayTake(endpointId)) return false;
    take(endpointId);
    return true;
  };
  const release = (endpointId: string): void => {
    const used = (perEndpoint.get(endpointId) ?? 1) - 1;
    if (used <= 0) {
      perEndpoint.delete(endpointId);
      startedAt.delete(endpointId);
    } else {
      perEndpoint.set(endpointId, used);
      // Which attempt ended is not known here: the oldest is dropped, so an endpoint answering
      // at all is not taken for a slow one.
      startedAt.get(endpointId)?.shift();
    }
    total--;
    if (moreDue) kick();
  };
  const noteHealth = (endpointId: string, ok: boolean): void => {
    if (!healthy.has(endpointId) && healthy.size >= 10_000) healthy.clear();
    healthy.set(endpointId, ok);
  };

  const recorder = new MicroBatcher<Outcome, void>({
    maxSize: 500,
    // One at a time: two batches touching one endpoint's row would only wait on each other.
    maxConcurrent: 1,
    lingerMs: 0,
    run: async (items) => {
      // One JSON parameter, not ten arrays: pg would escape every element of every array.
      const outcomes = items.map((o) => ({
        id: o.id,
        endpoint_id: o.endpointId,
        lease: o.lease,
        status: o.status,
        gone: o.gone,
        delay_ms: o.delayMs,
        code: o.result.statusCode,
        error: pgText(o.result.error),
        response: pgText(o.result.response),
        duration_ms: o.result.durationMs,
      }));
      const rows = await RECORD.run(db, [JSON.stringify(outcomes), settings.disableAfterDays]);
      for (const r of rows.rows) {
        if (!r.newly_disabled) continue;
        const reason = r.disabled_reason?.startsWith("410") ? "gone" : "failing";
        metrics.disabled(reason);
        logger.warn({ endpointId: r.id, reason: r.disabled_reason }, "webhook endpoint disabled");
      }
      return items.map(() => undefined);
    },
  });

  const secretsOf = (d: LeasedDelivery): string[] => {
    const key = settings.secretsKey!;
    const open = (column: string, sealed: string) => {
      let plain = opened.get(sealed);
      if (plain === undefined) {
        plain = openSecret(key, column, sealed);
        if (opened.size > 10_000) opened.clear();
        opened.set(sealed, plain);
      }
      return plain;
    };
    const secrets = [open("webhook_endpoints.secret", d.secret)];
    if (d.previousSecret && d.previousSecretExpiresAt && d.previousSecretExpiresAt.getTime() > Date.now()) {
      secrets.push(open("webhook_endpoints.previous_secret", d.previousSecret));
    }
    return secrets;
  };

  async function attempt(d: LeasedDelivery): Promise<void> {
    let result: AttemptResult;
    try {
      result = await http.send({ id: d.id, url: d.url, body: d.body, secrets: secretsOf(d) });
    } catch (err) {
      // A secret that does not open (another SECRETS_KEY) or a bug: recorded like a failed attempt.
      result = { statusCode: null, error: `not sent: ${(err as Error).message}`, response: null, unsafe: false, durationMs: 0 };
    } finally {
      release(d.endpointId);
    }
    const code = result.statusCode;
    let status: Outcome["status"];
    let delayMs = 0;
    const gone = code === 410;
    if (code !== null && code >= 200 && code < 300) status = "succeeded";
    else if (gone) status = "exhausted";
    else {
      // The schedule's place, not the attempt count: a replayed exhausted delivery starts it again.
      const delay = retryDelayMs(d.scheduleStep + 1, settings.schedule);
      status = delay === null ? "exhausted" : "failed";
      delayMs = delay ?? 0;
    }
    noteHealth(d.endpointId, status === "succeeded");
    const outcome: DeliveryOutcome = result.unsafe ? "unsafe" : status;
    metrics.delivered(outcome, result.durationMs / 1000);
    try {
      await recorder.add({ id: d.id, endpointId: d.endpointId, lease: d.lease, status, gone, delayMs, result });
      // A retry due at once (a schedule step of 0) is for the due loop to pick up.
      if (status === "failed" && delayMs < idleMs) noteDue();
    } catch (err) {
      // Its lease lapses and the attempt is made again, under the same webhook-id.
      logger.warn({ err, deliveryId: d.id }, "could not record a delivery's outcome; it will be retried when its lease lapses");
    }
  }

  const deliver = (d: LeasedDelivery): void => {
    const p = attempt(d).catch((err: unknown) => logger.error({ err, deliveryId: d.id }, "delivery attempt failed unexpectedly"));
    running.add(p);
    void p.finally(() => running.delete(p));
  };

  async function claimOnce(): Promise<void> {
    const free = settings.concurrency - total;
    if (free <= 0 || stopped) return;
    const seq = dueSeq;
    if (!moreDue && settledAt !== undefined && Date.now() - settledAt < sweepMs) {
      probes++;
      const { rows: probed } = await DUE_PROBE.run(db, [Date.now() - settledAt + PROBE_SLACK_MS]);
      // Work noted during the probe is claimed now, whatever it said.
      if (!probed[0]?.due && dueSeq === seq) return;
    }
    const startedAt = Date.now();
    // A claim that fails proves nothing: the next look is a full claim again.
    settledAt = undefined;
    const eps: string[] = [];
    const freeOf: number[] = [];
    const now = Date.now();
    for (const [id, n] of perEndpoint) {
      eps.push(id);
      if (!mayTake(id)) freeOf.push(0);
      else if (bad(id, now)) freeOf.push(2 - n);
      else freeOf.push(total < half || healthy.get(id) === true ? settings.endpointConcurrency - n : 1);
    }
    // What the others may take is checked again row by row below; this keeps the claim close to it.
    const others = total < half ? settings.endpointConcurrency : 1;
    claims++;
    const { rows } = await CLAIM.run(db, [eps, freeOf, others, free, leaseMs]);
    // Rows found: more may be due behind them. Work noted during the claim is still there.
    moreDue = rows.length > 0 || dueSeq !== seq;
    // An endpoint at its cap here may have due rows the claim did not look at: it claims again.
    if (!moreDue && !freeOf.includes(0)) settledAt = startedAt;
    const excess: string[] = [];
    for (const r of rows) {
      if (r.failing && !healthy.has(r.endpoint_id)) noteHealth(r.endpoint_id, false);
      // Fan-out may have taken slots while the claim ran, and the bounds above change with
      // each row taken: what no longer fits goes back.
      if (!mayTake(r.endpoint_id)) {
        excess.push(r.id);
        continue;
      }
      take(r.endpoint_id);
      deliver(toLeased(r));
    }
    if (excess.length > 0) await UNLEASE.run(db, [excess]);
  }

  let lastClaimWarning = 0;
  function kick(): void {
    if (!started || stopped || !settings.secretsKey) return;
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = claimOnce()
      .catch((err: unknown) => {
        // Every 250 ms while Postgres is down: one line per 10 s says it.
        if (Date.now() - lastClaimWarning < 10_000) return;
        lastClaimWarning = Date.now();
        logger.warn({ err }, "claiming due deliveries failed");
      })
      .finally(() => {
        claiming = undefined;
        const again = claimAgain;
        claimAgain = false;
        if (again && moreDue && total < settings.concurrency) kick();
      });
  }

  function noteDue(): void {
    dueSeq++;
    moreDue = true;
    if (total < settings.concurrency) kick();
  }

  return {
    reserve,
    release,
    deliver,
    noteDue,
    counts: () => ({ claims, probes }),
    canDeliver: settings.secretsKey !== undefined,
    leaseMs,
    inFlight: () => total,
    start() {
      if (started) return;
      started = true;
      if (!settings.secretsKey) {
        logger.error("SECRETS_KEY is not set: endpoints' secrets cannot be opened, so nothing is delivered (deliveries wait)");
        return;
      }
      // The idle poll: retries coming due, replays, rows another replica fanned out without a
      // slot (the probe's window), and every sweepMs rows a lapsed lease freed (a full claim).
      timer = setInterval(kick, idleMs);
      timer.unref();
      kick();
    },
    async close(boundMs = 10_000) {
      stopped = true;
      if (timer) clearInterval(timer);
      await claiming;
      const finished = await waitAtMost(Promise.all([...running]), boundMs);
      if (!finished) {
        logger.warn({ inFlight: running.size }, "deliveries still in flight at shutdown; their leases lapse and they are retried under the same id");
        await http.destroy().catch(() => undefined);
      }
      await recorder.close();
      if (finished) await http.close().catch(() => undefined);
    },
  };
}
