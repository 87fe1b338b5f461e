import { randomUUID } from "node:crypto";
import { ItemFailure, MicroBatcher } from "@inboxerr/batch";
import {
  beginAttempts,
  DEFAULT_SEND_MAX_ATTEMPTS,
  dropAttempts,
  fetchClaimRows,
  finishAttempts,
  isDataError,
  setWaitingReasons,
  transitionMany,
  uncountAttempts,
  withTransaction,
  type AttemptAnswer,
  type ClaimRow,
  type Db,
  type MessageEvent,
  type NewAttempt,
  type TransitionInput,
  type WaitingReason,
} from "@inboxerr/db";
import type { OutboxPublisher } from "@inboxerr/outbox";
import type { SenderInstruments } from "../prometheus";
import type { BudgetRequest, Budgets } from "../route/budget-types";
import type { FleetCache } from "../route/fleet-cache";
import { routeMessage } from "../route/router";

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
type ClaimOutcome =
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

/** A job's final word on its message, and on its attempt. */
export type Finish = {
  messageId: string;
  /** The message's move; omitted when only the attempt ends (a refusal with attempts left). */
  to?: "accepted" | "failed" | "expired";
  error?: string;
  payload?: unknown;
  /** The attempt's own end, recorded in the same flush. */
  attempt?: AttemptAnswer;
};

type Item =
  | { op: "claim"; messageId: string }
  | { op: "finish"; finish: Finish }
  | { op: "refused"; messageId: string; attemptId: string | null };
type Result = ClaimOutcome | boolean;

export const EXPIRED_UNSENT = "validUntil passed before the message reached the gateway";
/**
 * An `accepted` message (its attempt reached a phone, which then reported a failure before
 * transmission) cannot move to `expired`, which means "the gateway never had it": it fails.
 */
export const LAPSED_BEFORE_NEW_ATTEMPT = "validUntil passed before a new attempt could be made";

export type StatusBatcherOptions = {
  db: Db;
  publisher: OutboxPublisher;
  metrics: SenderInstruments;
  /** The fleet and its budgets; without them every message takes the implicit env sender (part 1). */
  routing?: {
    fleet: FleetCache;
    budgets: Budgets;
    /** Longest a waiting message's job sleeps before routing again (a raised cap, a new sender). */
    maxWaitMs: number;
    /** The budgets' clock: their retryAt is on it (tests move it away from the wall clock). */
    budgetClock: () => number;
  };
  /** SEND_MAX_ATTEMPTS: attempt rows per message, the first included. */
  maxAttempts?: number;
  maxSize?: number;
  maxConcurrent?: number;
  lingerMs?: number;
};

/**
 * The sender's only writer of message status. Concurrent jobs hand it their claims and
 * results; it folds them into one pass per batch, so a batch of N jobs costs a fixed handful
 * of round trips instead of N times as many: one read of the rows being claimed, the results'
 * attempt answers and their `transitionMany` (one conditional UPDATE + outbox insert), the
 * throttled calls' take-back (only when some call was throttled), one budgets reserve in Redis
 * for the claims that route, and one transaction for the claims' moves, attempt rows and
 * waiting reasons. The claim stays conditional: a job whose claim moved nothing does not send.
 * Events are published after the commit, off the jobs' critical path.
 */
export function createStatusBatcher(opts: StatusBatcherOptions) {
  const batch = new MicroBatcher<Item, Result>({
    run: (items) => flush(opts, items),
    maxSize: opts.maxSize ?? 500,
    maxConcurrent: opts.maxConcurrent ?? 4,
    lingerMs: opts.lingerMs ?? 2,
    // What waits when a batch ends goes at once, as the sender's own batcher did and its drain
    // figures were measured with (ADR 0014).
    lingerAfterBatch: false,
  });
  return {
    claim: (messageId: string) => batch.add({ op: "claim", messageId: messageId.toLowerCase() }) as Promise<ClaimOutcome>,
    /** Resolves true when the transition happened, false when the state machine refused it. */
    finish: (finish: Finish) =>
      batch.add({ op: "finish", finish: { ...finish, messageId: finish.messageId.toLowerCase() } }) as Promise<boolean>,
    /**
     * The gateway refused this attempt's first call outright (throttled), so it cannot have
     * the message: take the call back (keeping `attempts` = calls that may have reached the
     * gateway) and, given its id, the attempt row too, so the message routes again.
     */
    refused: (messageId: string, attemptId: string | null = null) =>
      batch.add({ op: "refused", messageId: messageId.toLowerCase(), attemptId }) as Promise<boolean>,
    close: () => batch.close(),
  };
}

export type StatusBatcher = ReturnType<typeof createStatusBatcher>;

type Decision = "claim" | "reclaim" | "route" | "retry" | "legacy" | "expire" | "lapse" | "early" | "skip";
type Plan =
  | { op: "finish"; messageId: string; to: Finish["to"]; input: TransitionInput | undefined }
  | { op: "refused" }
  | { op: "claim"; messageId: string; row: ClaimRow | undefined; decision: Decision; input?: TransitionInput };

/** What a claim that needs a new attempt got from routing. */
type Routed =
  | { kind: "attempt"; attempt: NewAttempt; target: AttemptTarget; grant?: { messageId: string; senderId: string; recipient: string } }
  | { kind: "wait"; reason: WaitingReason; until: Date };

async function flush(opts: StatusBatcherOptions, items: Item[]): Promise<(Result | ItemFailure)[]> {
  opts.metrics.statusBatchSize.observe(items.length);
  const maxAttempts = opts.maxAttempts ?? DEFAULT_SEND_MAX_ATTEMPTS;
  const rows = await fetchClaimRows(opts.db, items.flatMap((i) => (i.op === "claim" ? [i.messageId] : [])));

  // Results first (they are this replica's sends finishing), then the claims in one transaction.
  const finishInputs: TransitionInput[] = [];
  const answers: AttemptAnswer[] = [];
  const refused: string[] = [];
  const dropped: string[] = [];
  const claimInputs: TransitionInput[] = [];
  const plans = items.map((item): Plan => {
    if (item.op === "refused") {
      refused.push(item.messageId);
      if (item.attemptId) dropped.push(item.attemptId);
      return { op: "refused" };
    }
    if (item.op === "finish") {
      const { messageId, to, error, payload, attempt } = item.finish;
      if (attempt) answers.push(attempt);
      const input = to ? { messageId, to, error, payload } : undefined;
      if (input) finishInputs.push(input);
      return { op: "finish", messageId, to, input };
    }
    const row = rows.get(item.messageId);
    const decision = decide(row, maxAttempts);
    // Pinned to the status just read: a claim by another writer in between must not be expired.
    const input: TransitionInput | undefined =
      decision === "expire" && row
        ? { messageId: item.messageId, to: "expired", error: EXPIRED_UNSENT, from: [row.status] }
        : decision === "lapse" && row
          ? { messageId: item.messageId, to: "failed", error: LAPSED_BEFORE_NEW_ATTEMPT, from: [row.status] }
          : undefined;
    if (input) claimInputs.push(input);
    return { op: "claim", messageId: item.messageId, row, decision, input };
  });

  // The attempt's answer before the message's move: a crash in between leaves a message whose
  // live attempt says what happened (the claim then skips it), never an attempt to resend.
  await finishAttempts(opts.db, answers);
  const finished = await applyTransitions(opts.db, finishInputs);
  if (refused.length > 0) {
    await withTransaction(opts.db, async (tx) => {
      await dropAttempts(tx, dropped);
      await uncountAttempts(tx, refused);
    });
  }

  const claims = plans.filter((p): p is Extract<Plan, { op: "claim" }> => p.op === "claim");
  let routed = new Map<string, Routed>();
  let claimed: { events: MessageEvent[]; opened: Set<string> } | undefined;
  let claimError: unknown;
  try {
    routed = await route(opts, claims, rows);
    // The first attempt moves its message queued|scheduled → sending; a waiting one stays.
    for (const c of claims) {
      const moves = (c.decision === "claim" && routed.get(c.messageId)?.kind === "attempt") || c.decision === "reclaim";
      if (moves) claimInputs.push({ messageId: c.messageId, to: "sending" });
    }
    claimed = await commitClaims(opts.db, claims, claimInputs, routed);
  } catch (err) {
    claimError = err;
  }
  const grants = [...routed.values()].flatMap((r) => (r.kind === "attempt" && r.grant ? [r.grant] : []));
  const opened = claimed?.opened ?? new Set<string>();
  // What was reserved for a claim that did not commit, or lost its race, goes back.
  const unused = grants.filter((g) => {
    const r = routed.get(g.messageId);
    return !(r?.kind === "attempt" && opened.has(r.attempt.id));
  });
  // Best effort: a release lost to a Redis error only under-spends.
  if (unused.length > 0 && opts.routing) await opts.routing.budgets.release(unused).catch(() => undefined);
  if (claimError !== undefined && !isDataError(claimError) && claims.length === plans.length) throw claimError;

  const events = [...finished.events, ...(claimed?.events ?? [])];
  opts.publisher.publish(events);
  const moved = new Set(events.map((e) => `${e.messageId}:${e.status}`));
  const happened = (messageId: string, status: string) => moved.has(`${messageId}:${status}`);

  return plans.map((plan): Result | ItemFailure => {
    if (plan.op === "refused") return true;
    if (plan.op === "finish") {
      if (plan.input && finished.failed.has(plan.input)) return new ItemFailure(finished.failed.get(plan.input));
      return plan.to ? happened(plan.messageId, plan.to) : true;
    }
    if (claimError !== undefined) return new ItemFailure(claimError);
    const { row, decision, messageId } = plan;
    if (!row) return { kind: "skip", status: null };
    const r = routed.get(messageId);
    switch (decision) {
      case "claim":
      case "route":
      case "legacy": {
        if (!r) return skip(row);
        if (r.kind === "wait") return r;
        // A racing writer (a cancel, another claim or replica) got there first: do not send.
        if (decision === "claim" && !happened(messageId, "sending")) return skip(row);
        if (!opened.has(r.attempt.id)) return skip(row);
        return { kind: "send", message: row, attempt: row.attempt ?? r.target.n, target: r.target };
      }
      case "reclaim":
      case "retry": {
        if (decision === "reclaim" && !happened(messageId, "sending")) return skip(row);
        const live = row.live!;
        const target: AttemptTarget = {
          id: live.id,
          n: live.n,
          senderId: live.senderId,
          accountId: live.accountId,
          deviceId: live.deviceId,
          simNumber: live.simNumber,
          fresh: false,
        };
        return { kind: "send", message: row, attempt: row.attempt ?? live.n, target };
      }
      case "expire":
        return happened(messageId, "expired") ? { kind: "expired" } : skip(row);
      case "lapse":
        return happened(messageId, "failed") ? { kind: "expired" } : skip(row);
      case "early":
        return row.earlyUntil ? { kind: "early", until: row.earlyUntil } : skip(row);
      case "skip":
        return skip(row);
    }
  });
}

/**
 * Routing for the claims that need a new attempt (ADR 0019 "Routing"): candidates from the
 * fleet cache, then one budgets.reserve for the whole batch. Waiting ones get their reason and
 * when to look again; nothing is spent for them.
 */
async function route(
  opts: StatusBatcherOptions,
  claims: Extract<Plan, { op: "claim" }>[],
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
  const fleet = opts.routing ? await opts.routing.fleet.get() : undefined;
  for (const { row, decision } of wanting) {
    const n = row!.attemptRows + 1;
    // A part-1 claim (sending, counted, no attempt row) is its first attempt, under the message id.
    if (decision === "legacy" || !fleet) {
      routed.set(row!.id, implicit(row!, n, n === 1 ? row!.id : randomUUID(), decision === "legacy"));
      continue;
    }
    const r = routeMessage(fleet, { messageId: row!.id, userId: row!.userId, to: row!.to, pinnedSenderId: row!.pinnedSenderId, stickySenderId: row!.stickySenderId });
    if (r.kind === "implicit") routed.set(row!.id, implicit(row!, n, n === 1 ? row!.id : randomUUID()));
    else if (r.kind === "wait") {
      // A pin this snapshot does not know yet is a sender made a moment ago: look again soon.
      const unknownPin = row!.pinnedSenderId !== null && !fleet.senders.has(row!.pinnedSenderId);
      const waitMs = unknownPin ? Math.min(opts.routing!.maxWaitMs, 2 * opts.routing!.fleet.refreshMs) : opts.routing!.maxWaitMs;
      routed.set(row!.id, { kind: "wait", reason: r.reason, until: new Date(now + waitMs) });
    } else requests.push(r.request);
  }
  if (requests.length === 0) return routed;
  const decisions = await opts.routing!.budgets.reserve(requests);
  requests.forEach((request, i) => {
    const decision = decisions[i]!;
    const row = rows.get(request.messageId)!;
    if (decision.kind === "wait") {
      const waitMs = Math.max(0, Math.min(decision.retryAt - opts.routing!.budgetClock(), opts.routing!.maxWaitMs));
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
 * The claim commit (ADR 0019): in one transaction, the first attempt's move to `sending`
 * (and any expiry), the new attempt rows with their message's sender, and the waiting
 * reasons. An attempt whose claim did not move its message (a racing writer) is not opened.
 */
async function commitClaims(
  db: Db,
  claims: Extract<Plan, { op: "claim" }>[],
  inputs: TransitionInput[],
  routed: Map<string, Routed>,
): Promise<{ events: MessageEvent[]; opened: Set<string> }> {
  const waits = claims.flatMap((c) => {
    const r = routed.get(c.messageId);
    return r?.kind === "wait" && c.row?.waitingReason !== r.reason ? [{ messageId: c.messageId, reason: r.reason }] : [];
  });
  const hasAttempts = [...routed.values()].some((r) => r.kind === "attempt");
  if (inputs.length === 0 && waits.length === 0 && !hasAttempts) return { events: [], opened: new Set() };
  return withTransaction(db, async (tx) => {
    const events = inputs.length > 0 ? await transitionMany(tx, inputs) : [];
    const claimedNow = new Set(events.filter((e) => e.status === "sending").map((e) => e.messageId));
    const attempts = claims.flatMap((c) => {
      const r = routed.get(c.messageId);
      if (r?.kind !== "attempt") return [];
      return c.decision !== "claim" || claimedNow.has(c.messageId) ? [r.attempt] : [];
    });
    const opened = await beginAttempts(tx, attempts);
    await setWaitingReasons(tx, waits);
    return { events, opened };
  });
}

const skip = (row: ClaimRow): ClaimOutcome => ({ kind: "skip", status: row.status });

/**
 * One transitionMany for the whole batch. When Postgres refuses a value in it (SQLSTATE class
 * 22 data exception or 23 constraint violation: one item's data, say an unstorable gateway
 * reason), the batch is applied again one item at a time, so only the bad item fails and the
 * up to 500 others batched with it go on. Any other error (database down, timeout) fails the
 * whole batch as before: retrying item by item would only multiply the wait.
 */
async function applyTransitions(
  db: Db,
  inputs: TransitionInput[],
): Promise<{ events: MessageEvent[]; failed: Map<TransitionInput, unknown> }> {
  const failed = new Map<TransitionInput, unknown>();
  if (inputs.length === 0) return { events: [], failed };
  try {
    return { events: await transitionMany(db, inputs), failed };
  } catch (err) {
    if (!isDataError(err)) throw err;
    if (inputs.length === 1) return { events: [], failed: failed.set(inputs[0]!, err) };
  }
  // Should the database fail outright midway, the events already written stay for the relay.
  const events: MessageEvent[] = [];
  for (const input of inputs) {
    try {
      events.push(...(await transitionMany(db, [input])));
    } catch (err) {
      if (!isDataError(err)) throw err;
      failed.set(input, err);
    }
  }
  return { events, failed };
}

/**
 * The claim decision for one row (ADR 0019 "Attempts"):
 * - a live attempt still `sending` on a `sending` or `accepted` message: a crash retry of that
 *   same attempt (same id, same sender);
 * - a `sending` message counted but without attempt rows: a part-1 claim, retried as one
 *   (its attempt keeps the message id);
 * - no live attempt, fewer than maxAttempts rows, queued/due scheduled (claim), or
 *   sending/accepted after an attempt that never left the phone (route): a new attempt.
 */
function decide(row: ClaimRow | undefined, maxAttempts: number): Decision {
  if (!row) return "skip";
  const claimable = row.status === "queued" || row.status === "scheduled";
  if (row.live) {
    // On an `accepted` message too: its later attempt (after a pre-transmission failure) opened,
    // then its call failed or its worker died. Skipping it would leave the message stuck.
    if (row.status === "sending" || row.status === "accepted") return row.live.status === "sending" ? "retry" : "skip";
    // Claimable yet with a live attempt (a database restored to before the send): claim it
    // again and resend that same attempt; the gateway's 409 tells if it has it already.
    return claimable && row.attempt !== null ? "reclaim" : "skip";
  }
  if (row.status === "sending" && row.attemptRows === 0 && row.attemptsCounted > 0) return "legacy";
  if (row.attemptRows >= maxAttempts) return "skip";
  if (claimable && row.attempt !== null) return "claim";
  if ((claimable || row.status === "sending") && row.lapsed) return "expire";
  if (claimable) return row.earlyUntil ? "early" : "skip";
  // After an attempt ended (a part-1 `accepted` message has no attempt row: nothing to retry),
  // or a `sending` one whose first attempt the gateway throttled away.
  if (row.status === "accepted") return row.attemptRows === 0 ? "skip" : row.lapsed ? "lapse" : "route";
  return row.status === "sending" ? "route" : "skip";
}
