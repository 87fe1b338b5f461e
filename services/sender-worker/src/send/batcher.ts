import { ItemFailure, MicroBatcher } from "@inboxerr/batch";
import { fetchClaimRows, isDataError, transitionMany, uncountAttempts, type ClaimRow, type Db, type MessageEvent, type TransitionInput } from "@inboxerr/db";
import type { OutboxPublisher } from "@inboxerr/outbox";
import type { SenderInstruments } from "../prometheus";

/** What a job may do with its message. */
type ClaimOutcome =
  /** Call the gateway: this job claimed it (queued|scheduled → sending) or retries a `sending` one. */
  | { kind: "send"; message: ClaimRow; attempt: number }
  /** validUntil had passed and the gateway never saw it: it is `expired` now. */
  | { kind: "expired" }
  /** A scheduled message whose time has not come (the job ran early): run the job again then. */
  | { kind: "early"; until: Date }
  /** Nothing to do: unknown, already accepted or beyond, cancelled, or claimed by a racing writer. */
  | { kind: "skip"; status: ClaimRow["status"] | null };

/** A job's final word on its message. */
export type Finish = {
  messageId: string;
  to: "accepted" | "failed" | "expired";
  error?: string;
  payload?: unknown;
};

type Item = { op: "claim"; messageId: string } | { op: "finish"; finish: Finish } | { op: "refused"; messageId: string };
type Result = ClaimOutcome | boolean;

export const EXPIRED_UNSENT = "validUntil passed before the message reached the gateway";

export type StatusBatcherOptions = {
  db: Db;
  publisher: OutboxPublisher;
  metrics: SenderInstruments;
  maxSize?: number;
  maxConcurrent?: number;
  lingerMs?: number;
};

/**
 * The sender's only writer of message status. Concurrent jobs hand it their claims and
 * results; it folds them into one `transitionMany` (one conditional UPDATE + outbox insert)
 * per batch, preceded by one read of the rows being claimed, so a batch of N jobs costs two
 * round trips instead of N (three when some attempt was throttled). The claim stays conditional: a job whose claim moved nothing
 * does not send. Events are published after the commit, off the jobs' critical path.
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
     * The gateway refused this attempt outright (throttled), so it cannot have the message:
     * take the attempt back, keeping `attempts` = calls that may have reached the gateway.
     */
    refused: (messageId: string) => batch.add({ op: "refused", messageId: messageId.toLowerCase() }) as Promise<boolean>,
    close: () => batch.close(),
  };
}

export type StatusBatcher = ReturnType<typeof createStatusBatcher>;

type Decision = "claim" | "retry" | "expire" | "early" | "skip";
type Plan =
  | { op: "finish"; messageId: string; to: Finish["to"]; input: TransitionInput }
  | { op: "refused" }
  | { op: "claim"; messageId: string; row: ClaimRow | undefined; decision: Decision; input?: TransitionInput };

async function flush(opts: StatusBatcherOptions, items: Item[]): Promise<(Result | ItemFailure)[]> {
  opts.metrics.statusBatchSize.observe(items.length);
  const rows = await fetchClaimRows(opts.db, items.flatMap((i) => (i.op === "claim" ? [i.messageId] : [])));

  const inputs: TransitionInput[] = [];
  const refused: string[] = [];
  const plans = items.map((item): Plan => {
    if (item.op === "refused") {
      refused.push(item.messageId);
      return { op: "refused" };
    }
    if (item.op === "finish") {
      const { messageId, to, error, payload } = item.finish;
      const input = { messageId, to, error, payload };
      inputs.push(input);
      return { op: "finish", messageId, to, input };
    }
    const row = rows.get(item.messageId);
    const decision = decide(row);
    // Pinned to the status just read: a claim by another writer in between must not be expired.
    const input: TransitionInput | undefined =
      decision === "claim"
        ? { messageId: item.messageId, to: "sending" }
        : decision === "expire" && row
          ? { messageId: item.messageId, to: "expired", error: EXPIRED_UNSENT, from: [row.status] }
          : undefined;
    if (input) inputs.push(input);
    return { op: "claim", messageId: item.messageId, row, decision, input };
  });

  const { events, failed } = await applyTransitions(opts.db, inputs);
  opts.publisher.publish(events);
  await uncountAttempts(opts.db, refused);
  const moved = new Set(events.map((e) => `${e.messageId}:${e.status}`));
  const happened = (messageId: string, status: string) => moved.has(`${messageId}:${status}`);

  return plans.map((plan): Result | ItemFailure => {
    if (plan.op === "refused") return true;
    if (plan.input && failed.has(plan.input)) return new ItemFailure(failed.get(plan.input));
    if (plan.op === "finish") return happened(plan.messageId, plan.to);
    const { row, decision, messageId } = plan;
    if (!row) return { kind: "skip", status: null };
    switch (decision) {
      case "claim":
        // A racing writer (a cancel, another claim) got there first: do not send.
        return happened(messageId, "sending") ? { kind: "send", message: row, attempt: row.attempt ?? 1 } : skip(row);
      case "retry":
        return { kind: "send", message: row, attempt: row.attempt ?? 1 };
      case "expire":
        return happened(messageId, "expired") ? { kind: "expired" } : skip(row);
      case "early":
        return row.earlyUntil ? { kind: "early", until: row.earlyUntil } : skip(row);
      case "skip":
        return skip(row);
    }
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
 * The claim decision for one row. `attempt` is non-null exactly when the row may go to the
 * gateway: a claimable row's attempt is then counted by its claim transition, a `sending`
 * row's already by fetchClaimRows.
 */
function decide(row: ClaimRow | undefined): Decision {
  if (!row) return "skip";
  const claimable = row.status === "queued" || row.status === "scheduled";
  if (row.attempt !== null) {
    // Already `sending`: a retry after a crash, stall or transient error; no new event.
    if (claimable) return "claim";
    return row.status === "sending" ? "retry" : "skip";
  }
  if ((claimable || row.status === "sending") && row.lapsed) return "expire";
  return row.earlyUntil ? "early" : "skip";
}
