import { randomUUID } from "node:crypto";
import {
  gatewayAccounts,
  inboundMessages,
  metricsBuckets,
  senders,
  type DbOrTx,
  type InboundMessage,
  type MessageStatus,
  type NewSender,
  type Sender,
} from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";

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

/**
 * A gateway account of `ownerUserId` (null = shared) with one sender per entry, each on its own
 * device; rows written directly, as sync would have. Returns the account id and its senders.
 */
export async function insertFleet(
  db: DbOrTx,
  ownerUserId: string | null,
  sims: Array<Partial<Omit<NewSender, "accountId">>>,
): Promise<{ accountId: string; senders: Sender[] }> {
  const [account] = await db
    .insert(gatewayAccounts)
    .values({ ownerUserId, name: `fleet-${uniqueSuffix()}`, baseUrl: "https://gw.example/3rdparty/v1", username: "u" })
    .returning({ id: gatewayAccounts.id });
  const rows = await db
    .insert(senders)
    .values(sims.map((s) => ({ deviceId: `dev-${uniqueSuffix()}`, ...s, accountId: account!.id })))
    .returning();
  return { accountId: account!.id, senders: rows };
}

let nextNumber = 0;
/** A phone number no other test of this run uses (+1 646 555 xxxx, from a random start). */
export function uniquePhone(): string {
  nextNumber = nextNumber === 0 ? 1000 + Math.floor(Math.random() * 8000) : nextNumber + 1;
  return `+1646555${String(nextNumber % 10_000).padStart(4, "0")}`;
}
