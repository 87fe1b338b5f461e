import { applyReportBatch, cancelledReport, withConflictRetry, type Executor, type ReportBatchResult } from "@inboxerr/db";

/**
 * Failover's confirmed cancels, played through the status writer as the `sms:cancelled`
 * webhook would be (ADR 0022): each attempt ends `cancelled`, and every message with attempts
 * left comes back in `reattempts`. The envelope id `failover:<attemptId>` records it once, so
 * a pass that repeats it (or the phone's own `sms:cancelled`, under its own id) changes nothing
 * more.
 */
export async function applyConfirmedCancels(
  db: Executor,
  attemptIds: readonly string[],
  opts: { maxAttempts: number; cancelledAt?: Date },
): Promise<ReportBatchResult> {
  const at = opts.cancelledAt ?? new Date();
  const envelopes = attemptIds.map((attemptId) => cancelledReport(attemptId, at));
  return withConflictRetry(() => applyReportBatch(db, envelopes, { maxAttempts: opts.maxAttempts }));
}
