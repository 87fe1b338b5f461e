import { ItemFailure, MicroBatcher } from "@inboxerr/batch";
import {
  DEFAULT_SEND_MAX_ATTEMPTS,
  dropAttempts,
  fetchClaimRows,
  finishAttempts,
  finishMany,
  isDataError,
  transitionMany,
  uncountAttempts,
  withTransaction,
  type AttemptAnswer,
  type ClaimRow,
  type Db,
  type MessageEvent,
  type TransitionInput,
} from "@inboxerr/db";
import type { OutboxPublisher } from "@inboxerr/outbox";
import type { SenderInstruments } from "../prometheus";
import { commitClaims, decide, route, type AttemptTarget, type ClaimOutcome, type ClaimPlan, type Routed, type RoutingOptions } from "./claim";

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
  routing?: RoutingOptions;
  /** SEND_MAX_ATTEMPTS: attempt rows per message, the first included. */
  maxAttempts?: number;
  maxSize?: number;
  maxConcurrent?: number;
  lingerMs?: number;
};

/**
 * The sender's only writer of message status. Concurrent jobs hand it their claims and
 * results; it folds them into one pass per batch, so a batch of N jobs costs a fixed handful
 * of round trips instead of N times as many: one read of the rows being claimed, and at the
 * same time the results' attempt answers and their `transitionMany` (one conditional UPDATE +
 * outbox insert), the throttled calls' take-back (only when some call was throttled); then one
 * budgets reserve in Redis for the claims that route, and one statement for the claims' moves,
 * attempt rows and waiting reasons (commitClaims). The claim stays conditional: a job whose
 * claim moved nothing does not send. Events are published after the commit, off the jobs'
 * critical path.
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

type Plan =
  | { op: "finish"; messageId: string; to: Finish["to"]; input: TransitionInput | undefined }
  | { op: "refused" }
  | ClaimPlan;

async function flush(opts: StatusBatcherOptions, items: Item[]): Promise<(Result | ItemFailure)[]> {
  opts.metrics.statusBatchSize.observe(items.length);
  const maxAttempts = opts.maxAttempts ?? DEFAULT_SEND_MAX_ATTEMPTS;

  // The results (this replica's sends finishing) go to Postgres while the claims' rows are
  // read: neither waits for the other's round trip (each waits on this busy event loop too).
  // The read's decisions do not depend on the results: it sees them or not, as it may see
  // another batch's, committed a moment before or after.
  const finishInputs: TransitionInput[] = [];
  const answers: AttemptAnswer[] = [];
  const refused: string[] = [];
  const dropped: string[] = [];
  for (const item of items) {
    if (item.op === "refused") {
      refused.push(item.messageId);
      if (item.attemptId) dropped.push(item.attemptId);
    } else if (item.op === "finish") {
      if (item.finish.attempt) answers.push(item.finish.attempt);
      if (item.finish.to) finishInputs.push(finishInput(item.finish));
    }
  }
  const finishing = (async () => {
    const finished = await applyFinishes(opts.db, answers, finishInputs);
    if (refused.length > 0) {
      await withTransaction(opts.db, async (tx) => {
        await dropAttempts(tx, dropped);
        await uncountAttempts(tx, refused);
      });
    }
    return finished;
  })();
  // Awaited below, after the read: until then a rejection must not count as unhandled.
  finishing.catch(() => undefined);
  const claimIds = items.flatMap((i) => (i.op === "claim" ? [i.messageId] : []));
  let rows = new Map<string, ClaimRow>();
  let claimError: unknown;
  try {
    if (claimIds.length > 0) rows = await fetchClaimRows(opts.db, claimIds);
  } catch (err) {
    // The claims fail (below); the results stand or fall on their own.
    claimError = err;
  }
  const finished = await finishing;

  const claimInputs: TransitionInput[] = [];
  let f = 0;
  const plans = items.map((item): Plan => {
    if (item.op === "refused") return { op: "refused" };
    if (item.op === "finish") {
      const input = item.finish.to ? finishInputs[f++] : undefined;
      return { op: "finish", messageId: item.finish.messageId, to: item.finish.to, input };
    }
    const row = rows.get(item.messageId);
    const decision = decide(row, maxAttempts);
    // Pinned to the status just read: a claim by another writer in between must not be expired.
    const input: TransitionInput | undefined =
      decision === "expire" && row
        ? { messageId: item.messageId, to: "expired", error: EXPIRED_UNSENT, from: [row.status] }
        : decision === "lapse" && row
          ? { messageId: item.messageId, to: "failed", error: LAPSED_BEFORE_NEW_ATTEMPT, from: [row.status] }
          : decision === "repair" && row?.live
            ? { messageId: item.messageId, to: row.live.status === "sent" ? "sent" : "accepted", from: ["sending"] }
            : undefined;
    if (input) claimInputs.push(input);
    return { op: "claim", messageId: item.messageId, row, decision, input };
  });

  const claims = plans.filter((p): p is ClaimPlan => p.op === "claim");
  let routed = new Map<string, Routed>();
  let claimed: { events: MessageEvent[]; opened: Set<string> } | undefined;
  if (claimError === undefined) {
    try {
      routed = await route(opts.routing, claims, rows);
      // The first attempt moves its message queued|scheduled → sending; a waiting one stays.
      for (const c of claims) {
        const moves = (c.decision === "claim" && routed.get(c.messageId)?.kind === "attempt") || c.decision === "reclaim";
        if (!moves) continue;
        // The attempt's sender goes in with the move: one write of the row, and the event names it.
        const r = routed.get(c.messageId);
        const senderId = r?.kind === "attempt" ? r.attempt.senderId : null;
        claimInputs.push({ messageId: c.messageId, to: "sending", ...(senderId ? { senderId } : {}) });
      }
      claimed = await commitClaims(opts.db, claims, claimInputs, routed);
    } catch (err) {
      claimError = err;
    }
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
      case "repair":
        return skip(row);
      case "early":
        return row.earlyUntil ? { kind: "early", until: row.earlyUntil } : skip(row);
      case "skip":
        return skip(row);
    }
  });
}

const skip = (row: ClaimRow): ClaimOutcome => ({ kind: "skip", status: row.status });

const finishInput = ({ messageId, to, error, payload }: Finish): TransitionInput => ({ messageId, to: to!, error, payload });

/**
 * The attempts' answers and their messages' moves in one statement (finishMany). Should
 * Postgres refuse a value in it (a data exception or constraint violation: one item's data),
 * they go as two writes as before: the answers first, so a crash in between leaves a message
 * whose live attempt says what happened (the claim then repairs it), never an attempt to
 * resend; then the moves through applyTransitions, which isolates the bad item.
 */
async function applyFinishes(
  db: Db,
  answers: AttemptAnswer[],
  inputs: TransitionInput[],
): Promise<{ events: MessageEvent[]; failed: Map<TransitionInput, unknown> }> {
  if (answers.length === 0 || inputs.length === 0) {
    await finishAttempts(db, answers);
    return applyTransitions(db, inputs);
  }
  try {
    return { events: await finishMany(db, answers, inputs), failed: new Map() };
  } catch (err) {
    if (!isDataError(err)) throw err;
  }
  await finishAttempts(db, answers);
  return applyTransitions(db, inputs);
}

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

