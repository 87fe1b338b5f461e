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
};

/** A delivery this replica holds the lease of, with what its next attempt needs. */
export type LeasedDelivery = {
  id: string;
  endpointId: string;
  /** Attempts made before this one. */
  attempts: number;
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
 * Due rows of active endpoints that no one holds, oldest due first, at most the free slots of
 * each endpoint ($4 minus what this replica has in flight to it, $2/$3) and $5 in all. Rows of
 * endpoints already at their cap ($1) are passed over in the scan, so a dead endpoint's
 * backlog never fills a claim. The scan takes no locks (it looks at several times the rows it
 * picks, and each row lock is a write); only the rows picked are locked, `skip locked`, and
 * re-checked on their latest version, so replicas claiming at once never lease one row twice.
 */
const CLAIM = namedStatement<LeasedRow>(
  "webhook_dispatcher_claim",
  `with scanned as (
     select d.id, d.endpoint_id, d.next_attempt_at
     from webhook_deliveries d
     join webhook_endpoints e on e.id = d.endpoint_id
     where d.status in ('pending', 'failed')
       and d.next_attempt_at <= now()
       and (d.leased_until is null or d.leased_until <= now())
       and e.status = 'active'
       and d.endpoint_id <> all($1::uuid[])
     order by d.next_attempt_at
     limit $6
   ), ranked as (
     select s.id, s.next_attempt_at,
            row_number() over (partition by s.endpoint_id order by s.next_attempt_at, s.id) as rn,
            $4::int - coalesce(u.used, 0) as free
     from scanned s
     left join unnest($2::uuid[], $3::int[]) as u(endpoint_id, used) on u.endpoint_id = s.endpoint_id
   ), picked as (
     select id from ranked where rn <= free order by next_attempt_at limit $5
   ), locked as (
     select d.id from webhook_deliveries d
     where d.id in (select id from picked)
       and d.status in ('pending', 'failed')
       and (d.leased_until is null or d.leased_until <= now())
     for update skip locked
   )
   update webhook_deliveries d
   set leased_until = now() + $7::int * interval '1 millisecond'
   from locked l, webhook_endpoints e
   where d.id = l.id and e.id = d.endpoint_id
   returning d.id, d.endpoint_id, d.attempts, d.payload::text as body,
             e.url, e.secret, e.previous_secret, e.previous_secret_expires_at`,
);

/** Gives back leases a claim took but this replica has no slot for after all. */
const UNLEASE = namedStatement(
  "webhook_dispatcher_unlease",
  `update webhook_deliveries set leased_until = null where id = any($1::uuid[]) and status in ('pending', 'failed')`,
);

type Outcome = {
  id: string;
  endpointId: string;
  /** Attempts before this one: the update applies only if no one else recorded one meanwhile. */
  prevAttempts: number;
  status: "succeeded" | "failed" | "exhausted";
  gone: boolean;
  delayMs: number;
  result: AttemptResult;
};

/**
 * Many attempts' outcomes in one statement: each delivery's update and its attempt row (the
 * attempt is written only for a delivery actually updated), then each endpoint's health once
 * (a success in the batch clears failing_since; a 410 or a failure older than $10 days
 * disables it), written only when that changes something. `disabled_at = now()` in RETURNING
 * marks the endpoints this statement disabled: now() is the statement's transaction time.
 */
const RECORD = namedStatement<{ id: string; disabled_reason: string | null; newly_disabled: boolean }>(
  "webhook_dispatcher_record",
  `with x as (
     select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::boolean[], $6::float8[], $7::int[], $8::text[], $9::text[], $11::int[])
       as x(id, endpoint_id, prev, status, gone, delay_ms, code, error, response, duration_ms)
   ), upd as (
     update webhook_deliveries d
     set status = x.status,
         attempts = d.attempts + 1,
         next_attempt_at = case when x.status = 'failed' then now() + x.delay_ms * interval '1 millisecond' else d.next_attempt_at end,
         leased_until = null,
         last_status = x.code,
         last_error = x.error,
         last_response = x.response,
         delivered_at = case when x.status = 'succeeded' then now() else d.delivered_at end,
         updated_at = now()
     from x
     where d.id = x.id and d.attempts = x.prev
     returning d.id, d.attempts
   ), attempts as (
     insert into webhook_delivery_attempts (delivery_id, n, status_code, error, response, duration_ms)
     select upd.id, upd.attempts, x.code, x.error, x.response, x.duration_ms from upd join x on x.id = upd.id
   ), health as (
     select endpoint_id, bool_or(status = 'succeeded') as ok, bool_or(gone) as gone
     from x group by endpoint_id
   )
   update webhook_endpoints e
   set last_success_at = case when h.ok then now() else e.last_success_at end,
       failing_since = case when h.ok then null else coalesce(e.failing_since, now()) end,
       status = case when e.status = 'active' and (h.gone or (not h.ok and e.failing_since < now() - $10::float8 * interval '1 day'))
                     then 'disabled' else e.status end,
       disabled_reason = case when e.status <> 'active' then e.disabled_reason
                              when h.gone then '410 Gone from the endpoint'
                              when not h.ok and e.failing_since < now() - $10::float8 * interval '1 day'
                                then 'no successful delivery for ' || $10::float8 || ' days'
                              else e.disabled_reason end,
       disabled_at = case when e.status = 'active' and (h.gone or (not h.ok and e.failing_since < now() - $10::float8 * interval '1 day'))
                          then now() else e.disabled_at end,
       updated_at = now()
   from health h
   where e.id = h.endpoint_id
     -- A healthy endpoint's row is written at most once a second, a failing one's only when
     -- its state changes: thousands of outcomes a second to one endpoint are not as many writes.
     and ((h.ok and (e.failing_since is not null or e.last_success_at is null or e.last_success_at < now() - interval '1 second'))
       or (not h.ok and (e.failing_since is null or h.gone or e.failing_since < now() - $10::float8 * interval '1 day')))
   returning e.id, e.disabled_reason, e.disabled_at = now() as newly_disabled`,
);

export type DeliveryEngine = {
  /** Takes a slot for one attempt to `endpointId`, if this replica has one free. */
  reserve: (endpointId: string) => boolean;
  /** Gives back a slot reserve() took that will not be used. */
  release: (endpointId: string) => void;
  /** Sends a delivery leased to this replica, in a slot reserve() took for it. */
  deliver: (d: LeasedDelivery) => void;
  /** Due rows may be waiting for a slot: claim as soon as one frees. */
  noteDue: () => void;
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
  const perEndpoint = new Map<string, number>();
  let total = 0;
  let moreDue = true;
  /** Bumped whenever work is noted due, so a claim that ran meanwhile does not forget it. */
  let dueSeq = 0;
  let started = false;
  let stopped = false;
  let claiming: Promise<void> | undefined;
  let claimAgain = false;
  let timer: NodeJS.Timeout | undefined;
  const running = new Set<Promise<void>>();
  const opened = new Map<string, string>();

  const reserve = (endpointId: string): boolean => {
    if (stopped || !settings.secretsKey) return false;
    const used = perEndpoint.get(endpointId) ?? 0;
    if (total >= settings.concurrency || used >= settings.endpointConcurrency) return false;
    perEndpoint.set(endpointId, used + 1);
    total++;
    return true;
  };
  const release = (endpointId: string): void => {
    const used = (perEndpoint.get(endpointId) ?? 1) - 1;
    if (used <= 0) perEndpoint.delete(endpointId);
    else perEndpoint.set(endpointId, used);
    total--;
    if (moreDue) kick();
  };

  const recorder = new MicroBatcher<Outcome, void>({
    maxSize: 500,
    // One at a time: two batches touching one endpoint's row would only wait on each other.
    maxConcurrent: 1,
    lingerMs: 0,
    run: async (items) => {
      const rows = await RECORD.run(db, [
        items.map((o) => o.id),
        items.map((o) => o.endpointId),
        items.map((o) => o.prevAttempts),
        items.map((o) => o.status),
        items.map((o) => o.gone),
        items.map((o) => o.delayMs),
        items.map((o) => o.result.statusCode),
        items.map((o) => o.result.error),
        items.map((o) => o.result.response),
        settings.disableAfterDays,
        items.map((o) => o.result.durationMs),
      ]);
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
    const n = d.attempts + 1;
    let status: Outcome["status"];
    let delayMs = 0;
    const gone = code === 410;
    if (code !== null && code >= 200 && code < 300) status = "succeeded";
    else if (gone) status = "exhausted";
    else {
      const delay = retryDelayMs(n, settings.schedule);
      status = delay === null ? "exhausted" : "failed";
      delayMs = delay ?? 0;
    }
    const outcome: DeliveryOutcome = result.unsafe ? "unsafe" : status;
    metrics.delivered(outcome, result.durationMs / 1000);
    try {
      await recorder.add({ id: d.id, endpointId: d.endpointId, prevAttempts: d.attempts, status, gone, delayMs, result });
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
    const full: string[] = [];
    const eps: string[] = [];
    const used: number[] = [];
    for (const [id, n] of perEndpoint) {
      if (n >= settings.endpointConcurrency) full.push(id);
      else {
        eps.push(id);
        used.push(n);
      }
    }
    // Scan a few times the free slots: some rows belong to endpoints with fewer free slots.
    const scan = Math.min(free * 4, 2_000);
    const { rows } = await CLAIM.run(db, [full, eps, used, settings.endpointConcurrency, free, scan, leaseMs]);
    // Rows found: more may be due behind them. Work noted during the claim is still there.
    moreDue = rows.length > 0 || dueSeq !== seq;
    const excess: string[] = [];
    for (const r of rows) {
      // Fan-out may have taken slots while the claim ran: what no longer fits goes back.
      const n = perEndpoint.get(r.endpoint_id) ?? 0;
      if (n >= settings.endpointConcurrency || total >= settings.concurrency) {
        excess.push(r.id);
        continue;
      }
      perEndpoint.set(r.endpoint_id, n + 1);
      total++;
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
      // The idle poll: retries coming due, rows a lapsed lease freed, rows another replica left.
      timer = setInterval(() => {
        moreDue = true;
        kick();
      }, idleMs);
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
