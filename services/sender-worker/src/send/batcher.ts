import { transitionMany, type Db, type TransitionInput } from "@inboxerr/db";
import type { SenderMetrics } from "../metrics";
import type { OutboxPublisher } from "../outbox/publish";
import { fetchClaimRows, uncountAttempts, type ClaimRow } from "./claim-rows";
import { MicroBatch } from "./micro-batch";

/** What a job may do with its message. */
export type ClaimOutcome =
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
  metrics: SenderMetrics;
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
  const batch = new MicroBatch<Item, Result>({
    run: (items) => flush(opts, items),
    maxSize: opts.maxSize ?? 500,
    maxConcurrent: opts.maxConcurrent ?? 4,
    lingerMs: opts.lingerMs ?? 2,
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
  | { op: "finish"; messageId: string; to: Finish["to"] }
  | { op: "refused" }
  | { op: "claim"; messageId: string; row: ClaimRow | undefined; decision: Decision };

async function flush(opts: StatusBatcherOptions, items: Item[]): Promise<Result[]> {
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
      inputs.push({ messageId, to, error, payload });
      return { op: "finish", messageId, to };
    }
    const row = rows.get(item.messageId);
    const decision = decide(row);
    if (decision === "claim") inputs.push({ messageId: item.messageId, to: "sending" });
    if (decision === "expire") inputs.push({ messageId: item.messageId, to: "expired", error: EXPIRED_UNSENT });
    return { op: "claim", messageId: item.messageId, row, decision };
  });

  const events = inputs.length > 0 ? await transitionMany(opts.db, inputs) : [];
  opts.publisher.publish(events);
  await uncountAttempts(opts.db, refused);
  const moved = new Set(events.map((e) => `${e.messageId}:${e.status}`));
  const happened = (messageId: string, status: string) => moved.has(`${messageId}:${status}`);

  return plans.map((plan): Result => {
    if (plan.op === "refused") return true;
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
 * The claim decision for one row. `attempt` is non-null exactly when fetchClaimRows counted a
 * send attempt, i.e. when the row may go to the gateway.
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
