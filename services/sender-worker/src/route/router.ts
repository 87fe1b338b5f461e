import type { WaitingReason } from "@inboxerr/db";
import type { BudgetRequest, BudgetSender } from "./budget-types";
import type { CachedSender, FleetSnapshot } from "./fleet-cache";

/** What routing needs to know of a message that needs a new attempt. */
export type RouteInput = {
  messageId: string;
  userId: string;
  to: string;
  pinnedSenderId: string | null;
  stickySenderId: string | null;
  /**
   * A re-attempt's previous sender (ADR 0022): its SIM just failed before transmission or its
   * phone went dark, so another sender goes first when there is one. Null for a first attempt.
   */
  avoidSenderId?: string | null;
};

export type Route =
  /** Ask the budgets: the candidates, in preference order. */
  | { kind: "budget"; request: BudgetRequest }
  /** The message cannot be sent by anyone now; no budget is asked. */
  | { kind: "wait"; reason: WaitingReason }
  /**
   * The `default` account has no sender rows yet (a fresh install before its first sync, or
   * the single-phone setup of part 1), no other shared sender exists (retired aside) and the
   * user has none of their own: the env's SMSGATE_* gateway and device send it, unbudgeted,
   * as part 1 did (ADR 0019 Consequences).
   */
  | { kind: "implicit" };

const toBudgetSender = (s: CachedSender): BudgetSender => ({
  id: s.id,
  accountId: s.accountId,
  ratePerMinute: s.ratePerMinute,
  dailyCap: s.dailyCap,
  monthlyUniqueCap: s.monthlyUniqueCap,
});

const PINNED_WAIT: Record<Exclude<CachedSender["status"], "active">, WaitingReason> = {
  paused: "paused",
  offline: "sender_offline",
  retired: "no_active_sender",
};

/**
 * Routing (ADR 0019 "Routing"): the candidates of one message, on one fleet snapshot, in
 * preference order. Ties among equally free senders are the budgets' to break: their
 * round-robin counter lives in Redis, shared by every replica (a second rotation here would
 * move the pick two places per message and leave half the senders unused).
 */
export function routeMessage(fleet: FleetSnapshot, input: RouteInput): Route {
  const usable = (s: CachedSender) => s.status === "active" && fleet.accounts.get(s.accountId)?.status === "active";

  if (input.pinnedSenderId !== null) {
    const sender = fleet.senders.get(input.pinnedSenderId);
    if (!sender || fleet.accounts.get(sender.accountId)?.status !== "active") return { kind: "wait", reason: "no_active_sender" };
    if (sender.status !== "active") return { kind: "wait", reason: PINNED_WAIT[sender.status] };
    return { kind: "budget", request: { messageId: input.messageId, recipient: input.to, candidates: [toBudgetSender(sender)], preferFirst: true } };
  }

  // A user with senders of their own routes through them only, even while all are paused.
  const own = (fleet.byOwner.get(input.userId) ?? []).filter((s) => s.status !== "retired");
  const shared = (fleet.byOwner.get("") ?? []).filter((s) => s.status !== "retired");
  const pool = (own.length > 0 ? own : shared).filter(usable);
  if (pool.length === 0) {
    // Only where no sender could ever stand in: shared senders that are all paused or offline
    // (or on a disabled account) mean an admin stopped sending, which the env sender must not
    // bypass.
    const implicit = own.length === 0 && shared.length === 0 && !fleet.defaultHasSenders && fleet.defaultStatus !== "disabled";
    return implicit ? { kind: "implicit" } : { kind: "wait", reason: "no_active_sender" };
  }

  // Only when someone else can take it: a lone sender is tried again rather than not at all.
  const avoid = input.avoidSenderId ?? null;
  const fresh = avoid !== null && pool.some((s) => s.id !== avoid) ? pool.filter((s) => s.id !== avoid) : pool;
  const sticky = input.stickySenderId === null ? -1 : fresh.findIndex((s) => s.id === input.stickySenderId);
  const ordered = sticky >= 0 ? [fresh[sticky]!, ...fresh.slice(0, sticky), ...fresh.slice(sticky + 1)] : fresh;
  return {
    kind: "budget",
    request: { messageId: input.messageId, recipient: input.to, candidates: ordered.map(toBudgetSender), preferFirst: sticky >= 0 },
  };
}
