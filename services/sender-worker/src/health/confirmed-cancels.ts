import { applyReportBatch, withConflictRetry, type Executor, type GatewayEnvelope, type ReportBatchResult } from "@inboxerr/db";

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
  const envelopes = attemptIds.map((attemptId) => cancelEnvelope(attemptId, at));
  return withConflictRetry(() => applyReportBatch(db, envelopes, { maxAttempts: opts.maxAttempts }));
}

function cancelEnvelope(attemptId: string, at: Date): GatewayEnvelope {
  const envelopeId = `failover:${attemptId}`;
  const payload = { messageId: attemptId, cancelledAt: at.toISOString() };
  // MERGE(h16/writer): the `cancelled` report kind lands with the status writer's branch; until
  // then GatewayReport has no such member and this cast stands in for it (remove it at merge).
  const act = { kind: "cancelled", messageId: attemptId, at } as unknown as GatewayEnvelope["act"];
  return {
    envelopeId,
    event: "sms:cancelled",
    deviceId: null,
    messageId: attemptId,
    json: JSON.stringify({ id: envelopeId, event: "sms:cancelled", source: "failover", payload }),
    act,
    // The env's `default` account's scope: any attempt (the candidate came from our own rows).
    accountId: null,
  };
}
