import { randomUUID } from "node:crypto";
import { inboundMessages, metricsBuckets, type DbOrTx, type InboundMessage, type MessageStatus } from "@inboxerr/db";

export type BucketRow = { at: string; status: MessageStatus; count: number; latencyMsSum?: number };

/** metrics_buckets rows as the metrics worker would have written them (`at` must be a UTC minute). */
export async function insertBuckets(db: DbOrTx, userId: string, rows: BucketRow[]): Promise<void> {
  await db.insert(metricsBuckets).values(
    rows.map((r) => ({ userId, bucketStart: new Date(r.at), status: r.status, count: r.count, latencyMsSum: r.latencyMsSum ?? 0 })),
  );
}

/** Inbound SMS as webhook-ingest would have stored them; `userId: null` = attributed to the admins. */
export async function insertInbound(
  db: DbOrTx,
  userId: string | null,
  rows: Array<{ receivedAt: Date; from?: string; text?: string }>,
): Promise<InboundMessage[]> {
  return db
    .insert(inboundMessages)
    .values(
      rows.map((r, i) => ({
        userId,
        fromNumber: r.from ?? "+14155550100",
        text: r.text ?? `reply ${i}`,
        deviceId: "device-1",
        envelopeId: randomUUID(),
        receivedAt: r.receivedAt,
      })),
    )
    .returning();
}

/** An ISO instant `minutes` after `base`. */
export const plus = (base: string, minutes: number): string => new Date(Date.parse(base) + minutes * 60_000).toISOString();
