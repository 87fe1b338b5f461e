import { namedStatement, type Db } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { endpointWants, webhookBody, type WebhookEvent } from "@inboxerr/webhooks";
import { toLeased, type DeliveryEngine, type LeasedRow } from "../delivery/engine";
import type { DispatcherInstruments } from "../prometheus";
import type { EndpointCache } from "./endpoints";

/**
 * One delivery per (endpoint, event) pair, in one statement for the lot: a pair already there
 * (the event came again) is skipped by the unique key, an endpoint disabled since the cache
 * read gets none. Rows this replica has a slot for are leased to it in the same insert and go
 * out at once; the rest wait, due, for the claim loop. RETURNING reads the endpoint as it is
 * now (a secret rotated a second ago signs this attempt), and the body as stored.
 */
const INSERT = namedStatement<LeasedRow & { leased: boolean }>(
  "webhook_dispatcher_fan_out",
  `with x as (
     select * from json_to_recordset($1::json) as x(endpoint_id uuid, event_id uuid, type text, payload jsonb, lease boolean)
   ), ins as (
     insert into webhook_deliveries (endpoint_id, user_id, event_id, type, payload, next_attempt_at, leased_until)
     select x.endpoint_id, e.user_id, x.event_id, x.type, x.payload,
            now() + $2::float8 * interval '1 millisecond',
            case when x.lease then now() + $3::int * interval '1 millisecond' end
     from x join webhook_endpoints e on e.id = x.endpoint_id and e.status = 'active'
     on conflict (endpoint_id, event_id) do nothing
     returning id, endpoint_id, attempts, payload, leased_until
   )
   select ins.id, ins.endpoint_id, ins.attempts, ins.payload::text as body, ins.leased_until is not null as leased, ins.leased_until::text as lease,
          e.url, e.secret, e.previous_secret, e.previous_secret_expires_at
   from ins join webhook_endpoints e on e.id = ins.endpoint_id`,
);

export type FanOut = (events: readonly WebhookEvent[]) => Promise<{ created: number }>;

/**
 * Turns events into deliveries for every active endpoint of their owner whose filter matches
 * (userId null: every admin's endpoints), and starts the ones this replica has slots for.
 * Resolves once the rows are committed: the caller (a queue job, a poller's batch) may then
 * count its events as done, whatever becomes of their delivery.
 */
export function createFanOut(opts: {
  db: Db;
  logger: Logger;
  endpoints: EndpointCache;
  engine: DeliveryEngine;
  metrics: DispatcherInstruments;
  /** WEBHOOK_RETRY_SCHEDULE[0] in ms: when the first attempt is due. */
  firstDelayMs: number;
}): FanOut {
  return async (events) => {
    if (events.length === 0) return { created: 0 };
    const byUser = await opts.endpoints.forUsers(events.map((e) => e.userId));
    const leaseNow = opts.firstDelayMs === 0 && opts.engine.canDeliver;
    // The rows go as one JSON parameter: an array parameter would have pg escape every quote
    // of every payload, element by element (the fan-out's largest CPU cost before).
    const pairs: { endpoint_id: string; event_id: string; type: string; payload: unknown; lease: boolean }[] = [];
    const seen = new Set<string>();
    for (const event of events) {
      const payload = webhookBody(event);
      for (const endpoint of byUser.get(event.userId) ?? []) {
        if (!endpointWants(endpoint.events, event.type)) continue;
        const key = `${endpoint.id}/${event.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        pairs.push({ endpoint_id: endpoint.id, event_id: event.id, type: event.type, payload, lease: leaseNow && opts.engine.reserve(endpoint.id) });
      }
    }
    if (pairs.length === 0) return { created: 0 };
    /** Gives back every slot reserved here that no started row used (`started`: rows started per endpoint). */
    const releaseReserved = (started: Map<string, number>) => {
      const keep = new Map(started);
      for (const p of pairs) {
        if (!p.lease) continue;
        const n = keep.get(p.endpoint_id) ?? 0;
        if (n > 0) keep.set(p.endpoint_id, n - 1);
        else opts.engine.release(p.endpoint_id);
      }
    };
    let rows: (LeasedRow & { leased: boolean })[];
    try {
      ({ rows } = await INSERT.run(opts.db, [JSON.stringify(pairs), opts.firstDelayMs, opts.engine.leaseMs]));
    } catch (err) {
      releaseReserved(new Map());
      throw err;
    }
    opts.metrics.fannedOut(rows.length);
    // Slots reserved for pairs that were already there (or whose endpoint went) are given back.
    const started = new Map<string, number>();
    let waiting = false;
    for (const r of rows) {
      if (r.leased) {
        started.set(r.endpoint_id, (started.get(r.endpoint_id) ?? 0) + 1);
        opts.engine.deliver(toLeased(r));
      } else waiting = true;
    }
    releaseReserved(started);
    if (waiting && opts.firstDelayMs === 0) opts.engine.noteDue();
    return { created: rows.length };
  };
}
