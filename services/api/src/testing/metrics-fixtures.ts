import { gatewayAccounts, metricsFailureReasons, metricsSenderBuckets, NO_SENDER_ID, senders, type DbOrTx } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import type { BucketRow } from "./fixtures";

/** A sender on a new account: `ownerUserId`'s private one, or a shared one (null). */
export async function insertSender(db: DbOrTx, ownerUserId: string | null): Promise<string> {
  const [account] = await db
    .insert(gatewayAccounts)
    .values({ ownerUserId, name: `metrics-${uniqueSuffix()}`, baseUrl: "https://gw.test.inboxerr.dev", username: "u" })
    .returning();
  const [sender] = await db.insert(senders).values({ accountId: account!.id, deviceId: `d-${uniqueSuffix()}` }).returning();
  return sender!.id;
}

/** metrics_sender_buckets rows as the metrics worker would have written them. */
export async function insertSenderBuckets(db: DbOrTx, userId: string, senderId: string, rows: BucketRow[]): Promise<void> {
  await db.insert(metricsSenderBuckets).values(
    rows.map((r) => ({ userId, senderId, bucketStart: new Date(r.at), status: r.status, count: r.count, latencyMsSum: r.latencyMsSum ?? 0 })),
  );
}

/** metrics_failure_reasons rows; `senderId` null = events that named no sender. */
export async function insertFailureReasons(
  db: DbOrTx,
  userId: string,
  rows: Array<{ at: string; reason: string; count: number; senderId?: string | null }>,
): Promise<void> {
  await db
    .insert(metricsFailureReasons)
    .values(rows.map((r) => ({ userId, senderId: r.senderId ?? NO_SENDER_ID, bucketStart: new Date(r.at), reason: r.reason, count: r.count })));
}
