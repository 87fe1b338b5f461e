import { randomUUID } from "node:crypto";
import {
  gatewayAccounts,
  inboundMessages,
  metricsBuckets,
  senders,
  webhookDeliveries,
  webhookDeliveryAttempts,
  type DbOrTx,
  type InboundMessage,
  type MessageStatus,
  type NewSender,
  type Sender,
  type WebhookDelivery,
  type WebhookDeliveryStatus,
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

export type DeliveryRow = {
  createdAt: Date;
  status?: WebhookDeliveryStatus;
  type?: string;
  attempts?: Array<{ statusCode: number | null; error?: string; response?: string; durationMs?: number }>;
};

/**
 * Deliveries of an endpoint as the dispatcher would have left them: each with its attempts,
 * `leased_until` and `next_attempt_at` set as if mid-flight or done, so a reset shows.
 */
export async function insertDeliveries(db: DbOrTx, endpoint: { id: string; userId: string }, rows: DeliveryRow[]): Promise<WebhookDelivery[]> {
  const inserted = await db
    .insert(webhookDeliveries)
    .values(
      rows.map((r) => {
        const type = r.type ?? "message.delivered";
        const last = r.attempts?.at(-1);
        return {
          endpointId: endpoint.id,
          userId: endpoint.userId,
          eventId: randomUUID(),
          type,
          payload: { type, timestamp: r.createdAt.toISOString(), data: { id: randomUUID() } },
          status: r.status ?? "succeeded",
          attempts: r.attempts?.length ?? 0,
          nextAttemptAt: r.status === "failed" ? new Date(Date.now() + 3_600_000) : null,
          leasedUntil: new Date(Date.now() + 60_000),
          lastStatus: last?.statusCode ?? null,
          lastError: last?.error ?? null,
          lastResponse: last?.response ?? null,
          createdAt: r.createdAt,
          updatedAt: r.createdAt,
        };
      }),
    )
    .returning();
  const attempts = inserted.flatMap((d, i) =>
    (rows[i]!.attempts ?? []).map((a, n) => ({
      deliveryId: d.id,
      n: n + 1,
      statusCode: a.statusCode,
      error: a.error ?? null,
      response: a.response ?? null,
      durationMs: a.durationMs ?? 12,
    })),
  );
  if (attempts.length) await db.insert(webhookDeliveryAttempts).values(attempts);
  return inserted;
}
