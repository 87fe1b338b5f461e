import type { DbHandle, MessageStatus } from "@inboxerr/db";
import type { IncomingWebhook } from "./parse";
import { APPLY_SQL } from "./statement.sql";

/** The pg pool under the drizzle client: this path runs named statements, parsed once per connection. */
export type DbPool = DbHandle["pool"];

/** A committed outbox row, as the publisher needs it. */
export type WrittenEvent = {
  id: string;
  messageId: string;
  userId: string;
  status: MessageStatus;
  occurredAt: Date;
  latencyMs: number | null;
};

export type StatementResult = {
  /** Envelope ids that were new; the rest had been recorded before (redeliveries). */
  inserted: Set<string>;
  /** Envelope ids whose report changed their message (a part counter or its status). */
  applied: Set<string>;
  events: WrittenEvent[];
};

type Row = { kind: "e" | "a" | "v"; id: string; message_id: string | null; user_id: string | null; status: MessageStatus | null; occurred_at: Date | string | null; latency_ms: string | number | null };

/** Runs APPLY_SQL for a batch (envelope ids unique within it). */
export async function applyStatement(pool: DbPool, hooks: readonly IncomingWebhook[]): Promise<StatementResult> {
  // Envelopes go in in id order, so two batches carrying the same redelivered envelopes wait on
  // each other's unique-index entries in one order; seq keeps the order they arrived in.
  const rows = hooks
    .map((w, seq) => ({ w, seq }))
    .sort((a, b) => (a.w.envelopeId < b.w.envelopeId ? -1 : a.w.envelopeId > b.w.envelopeId ? 1 : 0));
  // A named statement is parsed and planned once per connection, not per batch.
  const result = await pool.query<Row>({ name: "inboxerr_webhook_batch", text: APPLY_SQL, values: [batchJson(rows)] });

  const out: StatementResult = { inserted: new Set(), applied: new Set(), events: [] };
  for (const row of result.rows) {
    if (row.kind === "e") out.inserted.add(row.id);
    else if (row.kind === "a") out.applied.add(row.id);
    else {
      out.events.push({
        id: row.id,
        messageId: row.message_id!,
        userId: row.user_id!,
        status: row.status!,
        occurredAt: new Date(row.occurred_at!),
        latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
      });
    }
  }
  return out;
}

/**
 * The batch as one JSON parameter: cheaper to send than a dozen escaped arrays, and each
 * envelope goes in as the JSON text it arrived as (already parsed, so known to be valid, and
 * every string in it storable: parseWebhook replaced NUL and lone surrogates).
 */
function batchJson(rows: readonly { w: IncomingWebhook; seq: number }[]): string {
  const items = rows.map(({ w, seq }) => {
    const r = w.action.kind === "report" ? w.action : null;
    const rec = w.action.kind === "received" ? w.action : null;
    const fields = JSON.stringify({
      seq,
      envelope_id: w.envelopeId,
      event: w.event,
      device_id: w.deviceId,
      message_id: w.messageId,
      msg: r?.messageId ?? null,
      kind: r?.report.kind ?? w.action.kind,
      ts: r?.report.at?.toISOString() ?? null,
      parts_count: r?.report.kind === "sent" ? (r.report.partsCount ?? null) : null,
      reason: r?.report.kind === "failed" ? r.report.reason : null,
      from_number: rec?.fromNumber ?? null,
      body: rec?.text ?? null,
      received_at: rec?.receivedAt.toISOString() ?? null,
    });
    return `${fields.slice(0, -1)},"payload":${w.json}}`;
  });
  return `[${items.join(",")}]`;
}
