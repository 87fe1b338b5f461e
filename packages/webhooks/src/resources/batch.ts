import { MESSAGE_STATUSES, namedStatement, type Batch, type Executor, type MessageStatus } from "@inboxerr/db";

export type BatchCounts = Record<MessageStatus, number>;

/** A batch as GET /batches/:id shows it, and as `batch.completed` carries it (ADR 0023). */
export function toBatchJson(b: Pick<Batch, "id" | "total" | "createdAt">, counts: BatchCounts) {
  return { id: b.id, total: b.total, createdAt: b.createdAt.toISOString(), counts };
}

// An index-only walk of messages_batch_id_status_idx per batch: no heap read while the
// visibility map is current, so a 100k-message batch costs a scan of its index entries.
const countsStatement = namedStatement<{ batch_id: string; status: MessageStatus; n: number }>(
  "webhooks_batch_status_counts",
  `select batch_id, status, count(*)::int as n
     from messages
    where batch_id = any($1::uuid[])
    group by batch_id, status`,
);

/** How many of each batch's messages are in each status now, every status present (0 if none). */
export async function batchStatusCounts(on: Executor, batchIds: readonly string[]): Promise<Map<string, BatchCounts>> {
  const out = new Map<string, BatchCounts>();
  for (const id of batchIds) out.set(id, Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as BatchCounts);
  if (batchIds.length === 0) return out;
  const { rows } = await countsStatement.run(on, [batchIds]);
  for (const r of rows) out.get(r.batch_id)![r.status] = r.n;
  return out;
}
