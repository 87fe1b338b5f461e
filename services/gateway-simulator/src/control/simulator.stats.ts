import type { RequestHandler } from "express";
import type { SimContext } from "../context";
import { sendError } from "../http/errors";

/**
 * `GET /simulator/stats[?account=username]`: one account's `{totalSends, duplicates,
 * sendsById, outcomes, devices}` (see SimulatorStats); the primary account's without `account`.
 */
export function getStats(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const name = typeof req.query.account === "string" ? req.query.account : null;
    const account = name === null ? ctx.fleet.primary : ctx.fleet.get(name);
    if (!account) return sendError(res, 404, "account not found");
    res.json(account.store.stats());
  };
}

/** Accepted messages not yet settled, across accounts (held by offline devices not included). */
export const scheduledOf = (ctx: SimContext) => ctx.fleet.all().reduce((n, a) => n + a.lifecycle.scheduled(), 0);

/**
 * `GET /simulator/deliveries`: the webhook pipeline's progress, so a test or benchmark can wait
 * until every event is out (`scheduled`, `queued`, `inFlight` and `retrying` all 0). `held`
 * counts messages offline devices hold in Pending.
 */
export function getDeliveries(ctx: SimContext): RequestHandler {
  return (_req, res) => {
    const held = ctx.fleet.all().reduce((n, a) => n + a.lifecycle.held(), 0);
    res.json({ scheduled: scheduledOf(ctx), held, ...ctx.dispatcher.stats() });
  };
}
