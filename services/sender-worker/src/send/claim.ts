import { randomUUID } from "node:crypto";
import {
  beginAttempts,
  commitClaimMany,
  setWaitingReasons,
  transitionMany,
  withTransaction,
  type ClaimAttempt,
  type ClaimRow,
  type Db,
  type MessageEvent,
  type NewAttempt,
  type TransitionInput,
  type WaitingReason,
} from "@inboxerr/db";
import type { BudgetRequest, Budgets } from "../route/budget-types";
import type { FleetCache } from "../route/fleet-cache";
import { routeMessage } from "../route/router";

// The claim side of the status batcher (ADR 0019 "Attempts", "Routing"): what each claimed
// row may do, the routing of those that need a new attempt, and the claims' commit.

/** The fleet and its budgets; without them every message takes the implicit env sender (part 1). */
export type RoutingOptions = {
  fleet: FleetCache;
  budgets: Budgets;
  /** Longest a `rate_limited` message's job sleeps before routing again (a new sender). */
  maxWaitMs: number;
  /**
   * Longest a job sleeps on a wait that rarely ends soon (daily_cap, monthly_cap,
   * no_active_sender, paused, sender_offline): a raised cap or a resumed sender is noticed
   * within it, and a backlog of capped messages wakes this much less often (ADR 0019).
   */
  maxCapWaitMs: number;
  /** The budgets' clock: their retryAt is on it (tests move it away from the wall clock). */
  budgetClock: () => number;
};

/**
 * Where an attempt goes, and under which id (ADR 0019). `accountId` null with `senderId` null:
 * the env's SMSGATE_* gateway and device (part 1, or the implicit sender).
 */
export type AttemptTarget = {
  /** The attempt's id: the id the gateway sees. */
  id: string;
  n: number;
  senderId: string | null;
  accountId: string | null;
  deviceId: string | null;
  simNumber: number | null;
  /**
   * True for the attempt's first call (this claim opened it): the gateway cannot have it yet.
   * False for a crash retry of a live attempt, whose earlier call may have arrived.
   */
  fresh: boolean;
};

/** What a job may do with its message. */
export type ClaimOutcome =
  /**
   * Call the gateway with `target`: this job opened a new attempt, or retries a live `sending`
   * one. `attempt` counts the calls (messages.attempts, part 1's meaning) for the record.
   */
  | { kind: "send"; message: ClaimRow; attempt: number; target: AttemptTarget }
  /** No sender may take it now (ADR 0019): run the job again at `until`; nothing was spent. */
  | { kind: "wait"; reason: WaitingReason; until: Date }
  /** validUntil had passed before (a new attempt) reached the gateway: it is `expired` (or `failed`, if `accepted`) now. */
  | { kind: "expired" }
  /** A scheduled message whose time has not come (the job ran early): run the job again then. */
  | { kind: "early"; until: Date }
  /** Nothing to do: unknown, already accepted or beyond, cancelled, or claimed by a racing writer. */
  | { kind: "skip"; status: ClaimRow["status"] | null };

/** What decide() made of a claimed row (see decide). */
type Decision = "claim" | "reclaim" | "route" | "retry" | "repair" | "legacy" | "expire" | "lapse" | "early" | "skip";

/** A job's claim in a batch: the row read for it and what decide() made of it. */
export type ClaimPlan = { op: "claim"; messageId: string; row: ClaimRow | undefined; decision: Decision; input?: TransitionInput };

/** What a claim that needs a new attempt got from routing. */
export type Routed =
  | { kind: "attempt"; attempt: NewAttempt; target: AttemptTarget; grant?: { messageId: string; senderId: string; recipient: string } }
  | { kind: "wait"; reason: WaitingReason; until: Date };

/**
 * The claim decision for one row (ADR 0019 "Attempts"):
 * - a live attempt still `sending` on a `sending` or `accepted` message: a crash retry of that
 *   same attempt (same id, same sender);
 * - a `sending` message counted but without attempt rows: a part-1 claim, retried as one
 *   (its attempt keeps the message id);
 * - no live attempt, fewer than maxAttempts rows, queued/due scheduled (claim), or
 *   sending/accepted after an attempt that never left the phone (route): a new attempt.
 */
export function decide(row: ClaimRow | undefined, maxAttempts: number): Decision {
  if (!row) return "skip";
  const claimable = row.status === "queued" || row.status === "scheduled";
  if (row.live) {
    // On an `accepted` message too: its later attempt (after a pre-transmission failure) opened,
    // then its call failed or its worker died. Skipping it would leave the message stuck.
    if (row.status === "sending" || row.status === "accepted") {
      if (row.live.status === "sending") return "retry";
      // The gateway's answer was recorded on the attempt but the message's move did not follow
      // (the two are separate writes: Postgres went away in between). Nothing to send: catch
      // the message up with its attempt, or it would sit in `sending` until a webhook came.
      return row.status === "sending" ? "repair" : "skip";
    }
    // Claimable yet with a live attempt (a database restored to before the send): claim it
    // again and resend that same attempt; the gateway's 409 tells if it has it already.
    return claimable && row.attempt !== null ? "reclaim" : "skip";
  }
  if (row.status === "sending" && row.attemptRows === 0 && row.attemptsCounted > 0) return "legacy";
  // Cancelled attempts never left the phone: they do not use up SEND_MAX_ATTEMPTS (ADR 0022).
  if (row.countedRows >= maxAttempts) return "skip";
  if (claimable && row.attempt !== null) return "claim";
  if ((claimable || row.status === "sending") && row.lapsed) return "expire";
  if (claimable) return row.earlyUntil ? "early" : "skip";
  // After an attempt ended (a part-1 `accepted` message has no attempt row: nothing to retry),
  // or a `sending` one whose first attempt the gateway throttled away.
  if (row.status === "accepted") return row.attemptRows === 0 ? "skip" : row.lapsed ? "lapse" : "route";
  return row.status === "sending" ? "route" : "skip";
}

/**
 * Routing for the claims that need a new attempt (ADR 0019 "Routing"): candidates from the
 * fleet cache, then one budgets.reserve for the whole batch. Waiting ones get their reason and
 * when to look again; nothing is spent for them.
 */
export async function route(
  routing: RoutingOptions | undefined,
  claims: ClaimPlan[],
  rows: Map<string, ClaimRow>,
): Promise<Map<string, Routed>> {
  const routed = new Map<string, Routed>();
  const wanting = claims.filter((c) => c.row && (c.decision === "claim" || c.decision === "route" || c.decision === "legacy"));
  if (wanting.length === 0) return routed;
  const now = Date.now();
  // The move to `sending` counts a first attempt's call; a later attempt's claim moves nothing.
  const countsCall = (row: ClaimRow) => row.status === "sending" || row.status === "accepted";
  const implicit = (row: ClaimRow, n: number, id: string, legacy = false): Routed => ({
    kind: "attempt",
    // A part-1 claim's call was counted by the claim read already.
    attempt: { id, messageId: row.id, senderId: null, n, countsCall: countsCall(row) && !legacy },
    // A part-1 claim is a retry: calls counted before this one may have reached the gateway
    // under this same id, so neither a throttle may expire it nor a 4xx open a new attempt.
    target: { id, n, senderId: null, accountId: null, deviceId: null, simNumber: null, fresh: !legacy || row.attemptsCounted === 0 },
  });
  const requests: BudgetRequest[] = [];
  const fleet = routing ? await routing.fleet.get() : undefined;
  for (const { row, decision } of wanting) {
    const n = row!.attemptRows + 1;
    // A part-1 claim (sending, counted, no attempt row) is its first attempt, under the message id.
    if (decision === "legacy" || !fleet) {
      routed.set(row!.id, implicit(row!, n, n === 1 ? row!.id : randomUUID(), decision === "legacy"));
      continue;
    }
    const r = routeMessage(fleet, {
      messageId: row!.id,
      userId: row!.userId,
      to: row!.to,
      pinnedSenderId: row!.pinnedSenderId,
      stickySenderId: row!.stickySenderId,
      // A re-attempt: the attempt before ended (failed before transmission, or cancelled).
      avoidSenderId: row!.live === null && row!.attemptRows > 0 ? row!.senderId : null,
    });
    if (r.kind === "implicit") routed.set(row!.id, implicit(row!, n, n === 1 ? row!.id : randomUUID()));
    else if (r.kind === "wait") {
      // A pin this snapshot does not know yet is a sender made a moment ago: look again soon.
      const unknownPin = row!.pinnedSenderId !== null && !fleet.senders.has(row!.pinnedSenderId);
      const waitMs = unknownPin ? Math.min(routing!.maxWaitMs, 2 * routing!.fleet.refreshMs) : routing!.maxCapWaitMs;
      routed.set(row!.id, { kind: "wait", reason: r.reason, until: new Date(now + waitMs) });
    } else requests.push(r.request);
  }
  if (requests.length === 0) return routed;
  const decisions = await routing!.budgets.reserve(requests);
  requests.forEach((request, i) => {
    const decision = decisions[i]!;
    const row = rows.get(request.messageId)!;
    if (decision.kind === "wait") {
      const bound = decision.reason === "rate_limited" ? routing!.maxWaitMs : routing!.maxCapWaitMs;
      const waitMs = Math.max(0, Math.min(decision.retryAt - routing!.budgetClock(), bound));
      routed.set(request.messageId, { kind: "wait", reason: decision.reason, until: new Date(now + waitMs) });
      return;
    }
    const sender = fleet!.senders.get(decision.senderId)!;
    const id = randomUUID();
    const n = row.attemptRows + 1;
    routed.set(request.messageId, {
      kind: "attempt",
      attempt: { id, messageId: row.id, senderId: sender.id, n, countsCall: countsCall(row) },
      target: { id, n, senderId: sender.id, accountId: sender.accountId, deviceId: sender.deviceId, simNumber: sender.simNumber, fresh: true },
      grant: { messageId: row.id, senderId: sender.id, recipient: row.to },
    });
  });
  return routed;
}

/**
 * The claim commit (ADR 0019): at once, the first attempt's move to `sending` (and any
 * expiry), the new attempt rows with their message's sender, and the waiting reasons. An
 * attempt whose claim did not move its message (a racing writer) is not opened. One statement
 * (commitClaimMany) when it can be; otherwise the same writes in one transaction.
 */
export async function commitClaims(
  db: Db,
  claims: ClaimPlan[],
  inputs: TransitionInput[],
  routed: Map<string, Routed>,
): Promise<{ events: MessageEvent[]; opened: Set<string> }> {
  const waits = claims.flatMap((c) => {
    const r = routed.get(c.messageId);
    return r?.kind === "wait" && c.row?.waitingReason !== r.reason ? [{ messageId: c.messageId, reason: r.reason }] : [];
  });
  const planned = claims.flatMap((c): ClaimAttempt[] => {
    const r = routed.get(c.messageId);
    return r?.kind === "attempt" ? [{ ...r.attempt, afterMove: c.decision === "claim" }] : [];
  });
  if (inputs.length === 0 && waits.length === 0 && planned.length === 0) return { events: [], opened: new Set() };
  // A claim for the implicit sender (NULL) of a message that names a sender: the transaction
  // clears it after the move, a second write of the row one statement cannot make.
  const clears = planned.some((a) => a.afterMove && a.senderId === null && claims.some((c) => c.messageId === a.messageId && c.row?.senderId != null));
  const once = clears ? undefined : await commitClaimMany(db, inputs, planned, waits);
  if (once) return once;
  return withTransaction(db, async (tx) => {
    const events = inputs.length > 0 ? await transitionMany(tx, inputs) : [];
    const claimedNow = new Set(events.filter((e) => e.status === "sending").map((e) => e.messageId));
    const attempts = planned.filter((a) => !a.afterMove || claimedNow.has(a.messageId));
    const opened = await beginAttempts(tx, attempts);
    await setWaitingReasons(tx, waits);
    return { events, opened };
  });
}
