import type { RequestHandler } from "express";
import type { SimContext } from "../context";

/** `GET /simulator/stats`: `{totalSends, duplicates, sendsById, outcomes}` (see SimulatorStats). */
export function getStats(ctx: SimContext): RequestHandler {
  return (_req, res) => {
    res.json(ctx.store.stats());
  };
}

/**
 * `GET /simulator/deliveries`: the webhook pipeline's progress, so a test or benchmark can wait
 * until every event is out (`scheduled`, `queued`, `inFlight` and `retrying` all 0).
 */
export function getDeliveries(ctx: SimContext): RequestHandler {
  return (_req, res) => {
    res.json({ scheduled: ctx.lifecycle.scheduled(), ...ctx.dispatcher.stats() });
  };
}
