import { applyReportBatch, type DbHandle, type GatewayEnvelope, type ReportBatchEvent, type ReportBatchResult } from "@inboxerr/db";
import type { IncomingWebhook } from "./parse";

/** The pg pool under the drizzle client: the batch runs as a named statement, parsed once per connection. */
export type DbPool = DbHandle["pool"];

/** A committed outbox row, as the publisher needs it. */
export type WrittenEvent = ReportBatchEvent;

export type StatementResult = ReportBatchResult;

/**
 * Applies a batch (envelope ids unique within it) through the status writer's report-batch
 * statement (@inboxerr/db, ADR 0004): what SMS Gate's webhooks mean is decided here, in
 * parseWebhook; what they do to a message, there.
 */
export function applyStatement(pool: DbPool, hooks: readonly IncomingWebhook[]): Promise<StatementResult> {
  return applyReportBatch(pool, hooks.map(toEnvelope));
}

function toEnvelope(w: IncomingWebhook): GatewayEnvelope {
  const { envelopeId, event, deviceId, messageId, json, action } = w;
  const act: GatewayEnvelope["act"] =
    action.kind === "report" ? { ...action.report, messageId: action.messageId } : action.kind === "received" ? action : null;
  return { envelopeId, event, deviceId, messageId, json, act };
}
