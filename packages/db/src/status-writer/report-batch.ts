import { DEFAULT_SEND_MAX_ATTEMPTS, isPreTransmissionFailure } from "../fleet/attempt-outcome";
import { namedStatement, type Executor } from "../named";
import type { MessageStatus } from "../status";
import { REPORT_BATCH_SQL } from "./report-batch.sql";

/**
 * A gateway's status report on one of our messages; `at` is the phone's time, as an instant.
 * `messageId` is the id the gateway knows: an attempt id (ADR 0019), which for a part-1
 * message is the message id.
 */
export type GatewayReport =
  | { kind: "sent"; messageId: string; at?: Date | null; partsCount?: number | null }
  | { kind: "delivered"; messageId: string; at?: Date | null }
  | { kind: "failed"; messageId: string; at?: Date | null; reason: string }
  /**
   * The gateway confirmed it never sent the attempt (`sms:cancelled`, or failover's confirmed
   * DELETE, ADR 0022): a live unsent attempt ends `cancelled`, and an unfinished message gets a
   * new attempt (not counted towards SEND_MAX_ATTEMPTS).
   */
  | { kind: "cancelled"; messageId: string; at?: Date | null };

/**
 * An SMS the gateway received; stored once, owned by whoever last texted that number (through
 * an account's own URL: that account's owner, or among a shared account's own attempts).
 */
type ReceivedSms = { kind: "received"; fromNumber: string; text: string; receivedAt: Date };

/**
 * A device's `system:ping` (ADR 0022): its senders (the envelope's deviceId, of the account it
 * came through, else `default`) are seen now, and the envelope's payload becomes their health.
 */
type Ping = { kind: "ping" };

/** One gateway envelope (one webhook): recorded once by its id, and acting only then. */
export type GatewayEnvelope = {
  /** Unique per envelope: a redelivery finds it recorded and changes nothing (invariant 4). */
  envelopeId: string;
  event: string;
  deviceId: string | null;
  /** The payload's message id as sent (ours or not), for the raw record. */
  messageId: string | null;
  /** The envelope as valid JSON text, stored raw in gateway_webhook_events. */
  json: string;
  /** What it does; null: stored only. */
  act: GatewayReport | ReceivedSms | Ping | null;
  /**
   * The gateway account it came through, when verified with that account's own key: its
   * reports then act only on attempts made through that account's senders, and its received
   * SMS go to that account's owner (a shared one's: among its own attempts' senders). Undefined
   * or null: the env's `default` account (any attempt, part-1 messages, anyone's reply).
   */
  accountId?: string | null;
};

/** A committed outbox row, as a publisher needs it. */
export type ReportBatchEvent = {
  id: string;
  messageId: string;
  userId: string;
  status: MessageStatus;
  occurredAt: Date;
  latencyMs: number | null;
  /** The message's sender, and a `failed` event's reason (message_events' columns). */
  senderId: string | null;
  error: string | null;
};

/**
 * A message whose attempt ended before transmission with attempts left (ADR 0019): after
 * commit, add its `sms-send` job `sendJobId(messageId, attempt)`, priority as the api does.
 */
export type Reattempt = { messageId: string; attempt: number; priority: number };

/**
 * A sent or delivered report on an attempt that ended `cancelled`: the gateway said both, so an
 * operator should hear of it (the message may have gone out twice). Recorded on the attempt only.
 */
export type SentAfterCancel = { attemptId: string; messageId: string };

export type ReportBatchResult = {
  /** Envelope ids that were new; the rest had been recorded before (redeliveries). */
  inserted: Set<string>;
  /** Envelope ids whose report changed their message (a part counter or its status) or attempt. */
  applied: Set<string>;
  events: ReportBatchEvent[];
  reattempts: Reattempt[];
  sentAfterCancel: SentAfterCancel[];
};

export type ReportBatchOptions = {
  /** SEND_MAX_ATTEMPTS: attempt rows per message, the first included (default 3). */
  maxAttempts?: number;
};

type Row = {
  kind: "e" | "a" | "v" | "r" | "x";
  id: string;
  message_id: string | null;
  user_id: string | null;
  status: MessageStatus | null;
  occurred_at: Date | string | null;
  latency_ms: string | number | null;
  sender_id: string | null;
  error: string | null;
  n: number | null;
  priority: number | null;
};

const REPORT_BATCH = namedStatement<Row>("inboxerr_report_batch", REPORT_BATCH_SQL);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Applies a batch of gateway envelopes in one statement, one round trip (ADR 0004): records
 * each envelope, plays the new reports on their messages through the state machine (the same
 * generated moves as transitionMany, plus part counting), writes one outbox row per status
 * entered, updates the attempts named (ADR 0019) and stores received SMS. A report on an
 * attempt that is not live (not the latest) updates that attempt only. A pre-transmission
 * failure with attempts left fails the attempt, not the message, and comes back in
 * `reattempts` for the caller to enqueue; so does a confirmed cancel (`cancelled`, ADR 0022),
 * which ends the attempt `cancelled` and does not count towards SEND_MAX_ATTEMPTS. Envelope ids must be unique within the batch. Run it
 * on the pool (its own transaction); retry it with withConflictRetry.
 */
export async function applyReportBatch(
  db: Executor,
  envelopes: readonly GatewayEnvelope[],
  opts: ReportBatchOptions = {},
): Promise<ReportBatchResult> {
  // Envelopes go in in id order, so two batches carrying the same redelivered envelopes wait on
  // each other's unique-index entries in one order; seq keeps the order they arrived in.
  const rows = envelopes
    .map((e, seq) => ({ e, seq }))
    .sort((a, b) => (a.e.envelopeId < b.e.envelopeId ? -1 : a.e.envelopeId > b.e.envelopeId ? 1 : 0));
  const result = await REPORT_BATCH.run(db, [batchJson(rows), opts.maxAttempts ?? DEFAULT_SEND_MAX_ATTEMPTS]);

  const out: ReportBatchResult = { inserted: new Set(), applied: new Set(), events: [], reattempts: [], sentAfterCancel: [] };
  for (const row of result.rows) {
    if (row.kind === "e") out.inserted.add(row.id);
    else if (row.kind === "a") out.applied.add(row.id);
    else if (row.kind === "r") out.reattempts.push({ messageId: row.message_id!, attempt: row.n!, priority: row.priority! });
    else if (row.kind === "x") out.sentAfterCancel.push({ attemptId: row.id, messageId: row.message_id! });
    else {
      out.events.push({
        id: row.id,
        messageId: row.message_id!,
        userId: row.user_id!,
        status: row.status!,
        occurredAt: new Date(row.occurred_at!),
        latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
        senderId: row.sender_id,
        error: row.error,
      });
    }
  }
  return out;
}

/**
 * The batch as one JSON parameter: cheaper to send than a dozen escaped arrays, and each
 * envelope goes in as the JSON text it arrived as (the caller parsed it, so it is valid, and
 * made every string in it storable).
 */
function batchJson(rows: readonly { e: GatewayEnvelope; seq: number }[]): string {
  const items = rows.map(({ e, seq }) => {
    const r = e.act && e.act.kind !== "received" && e.act.kind !== "ping" ? e.act : null;
    const rec = e.act?.kind === "received" ? e.act : null;
    const fields = JSON.stringify({
      seq,
      envelope_id: e.envelopeId,
      event: e.event,
      device_id: e.deviceId,
      message_id: e.messageId,
      // Not a UUID: cannot name a message (as in transitionMany), and would fail the ::uuid cast.
      msg: r && UUID.test(r.messageId) ? r.messageId : null,
      kind: e.act?.kind ?? "none",
      account: e.accountId ?? null,
      ts: r?.at?.toISOString() ?? null,
      parts_count: r?.kind === "sent" ? (r.partsCount ?? null) : null,
      reason: r?.kind === "failed" ? r.reason : null,
      // The one table of reasons that never left the phone (fleet/attempt-outcome.ts).
      pre_tx: r?.kind === "failed" && isPreTransmissionFailure(r.reason),
      from_number: rec?.fromNumber ?? null,
      body: rec?.text ?? null,
      received_at: rec?.receivedAt.toISOString() ?? null,
    });
    return `${fields.slice(0, -1)},"payload":${e.json}}`;
  });
  return `[${items.join(",")}]`;
}

/**
 * The envelope of a cancel the gateway confirmed to a DELETE (failover, ADR 0022): the same
 * report as an `sms:cancelled` webhook, recorded once under `failover:<attemptId>`, so a pass
 * that runs again after a crash changes nothing. Apply it with applyReportBatch (no accountId:
 * the caller found the attempt itself) and enqueue the re-attempts it returns.
 */
export function cancelledReport(attemptId: string, at: Date = new Date()): GatewayEnvelope {
  return {
    envelopeId: `failover:${attemptId}`,
    event: "sms:cancelled",
    deviceId: null,
    messageId: attemptId,
    json: JSON.stringify({ source: "failover", messageId: attemptId, cancelledAt: at.toISOString() }),
    act: { kind: "cancelled", messageId: attemptId, at },
  };
}
