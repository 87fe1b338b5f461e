import { applyReportBatch, withConflictRetry, type Executor, type GatewayEnvelope, type Reattempt, type ReportBatchEvent, type SentAfterCancel } from "@inboxerr/db";
import type { IncomingWebhook } from "./parse";

/** applied: it changed a message or stored an inbound SMS; ignored: stored, nothing to change. */
export type Outcome = "applied" | "ignored" | "duplicate";

export type ApplyResult = {
  outcomes: Outcome[];
  events: ReportBatchEvent[];
  /** New attempts to enqueue after commit (pre-transmission failures with attempts left, confirmed cancels). */
  reattempts: Reattempt[];
  /** Attempts the gateway reported sent after it had cancelled them: an operator should hear. */
  sentAfterCancel: SentAfterCancel[];
};

/**
 * Applies a batch of webhooks atomically (invariant 4): each envelope id is recorded in the
 * same statement, hence transaction, as what it does, and only envelopes that were new act,
 * so a redelivery changes nothing. Returns an outcome per item, the outbox rows written, to
 * publish after commit, and the new attempts to enqueue after commit. `maxAttempts` is
 * SEND_MAX_ATTEMPTS.
 */
export async function applyWebhooks(pool: Executor, items: readonly IncomingWebhook[], maxAttempts?: number): Promise<ApplyResult> {
  const outcomes: Outcome[] = items.map(() => "duplicate");
  // The same envelope twice in one batch: only its first copy may act.
  const firsts = new Map<string, number>();
  items.forEach((item, i) => {
    if (!firsts.has(item.envelopeId)) firsts.set(item.envelopeId, i);
  });
  const unique = [...firsts.values()];
  const envelopes = unique.map((i) => toEnvelope(items[i]!));
  const result = await withConflictRetry(() => applyReportBatch(pool, envelopes, maxAttempts === undefined ? {} : { maxAttempts }));
  for (const i of unique) {
    const { envelopeId, action } = items[i]!;
    if (!result.inserted.has(envelopeId)) continue;
    outcomes[i] = result.applied.has(envelopeId) || action.kind === "received" ? "applied" : "ignored";
  }
  return { outcomes, events: result.events, reattempts: result.reattempts, sentAfterCancel: result.sentAfterCancel };
}

/**
 * What SMS Gate's webhook means is decided in parseWebhook; what it does to a message, in the
 * status writer's report batch (@inboxerr/db, ADR 0004), which takes this gateway-neutral form.
 */
function toEnvelope(w: IncomingWebhook): GatewayEnvelope {
  const { envelopeId, event, deviceId, messageId, json, action, accountId } = w;
  const act: GatewayEnvelope["act"] =
    action.kind === "report"
      ? { ...action.report, messageId: action.messageId }
      : action.kind === "received" || action.kind === "ping"
        ? action
        : null;
  return { envelopeId, event, deviceId, messageId, json, act, accountId: accountId ?? null };
}
