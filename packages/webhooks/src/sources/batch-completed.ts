import { namedStatement, NON_TERMINAL_STATUSES, type Executor } from "@inboxerr/db";
import type { WebhookEvent } from "../events";
import { batchStatusCounts, toBatchJson } from "../resources/batch";

const NON_TERMINAL = `(${NON_TERMINAL_STATUSES.map((s) => `'${s}'`).join(", ")})`;

// The batches of the given messages that have no unfinished message left. Each test is a
// probe of messages_batch_id_status_idx for one unfinished message (LIMIT 1 in a lateral, so
// the planner cannot turn it into a join over every unfinished message of every batch): a
// batch of 100k still running costs the same as one of 10. A batch whose batch.completed
// already made a delivery for one of its owner's endpoints is skipped (one probe of the
// unique (endpoint_id, event_id) per endpoint): a terminal event processed after the batch
// ended (a backlog, a retried job) does not recount the batch.
const completedStatement = namedStatement<{ id: string; user_id: string; total: number; created_at: Date; now: Date }>(
  "webhooks_completed_batches",
  `with candidates as (
     select distinct batch_id from messages where id = any($1::uuid[]) and batch_id is not null
   )
   select b.id, b.user_id, b.total, b.created_at, now() as now
     from candidates c
     join batches b on b.id = c.batch_id
     left join lateral (
       select 1 as one from messages m where m.batch_id = c.batch_id and m.status in ${NON_TERMINAL} limit 1
     ) waiting on true
     left join lateral (
       select 1 as one
         from webhook_endpoints e
        cross join lateral (select 1 from webhook_deliveries d where d.endpoint_id = e.id and d.event_id = b.id limit 1) d
        where e.user_id = b.user_id
        limit 1
     ) told on true
    where waiting.one is null and told.one is null
    order by b.created_at, b.id`,
);

/**
 * `batch.completed` for each batch of `terminalMessageIds` (messages whose terminal event is
 * being fanned out) that has no message left in a non-terminal status (ADR 0023): id = the
 * batch id (so every call that sees it done names the same event), userId = the batch's
 * owner, data = the batch as GET /batches/:id shows it, occurredAt = when it was seen done.
 *
 * Call it after the terminal moves are committed (they are: events are written with them).
 * Two fan-outs may both see the batch done; the unique (endpoint_id, event_id) keeps one
 * delivery. Once one exists, later calls return nothing for that batch.
 */
export async function batchCompletions(on: Executor, terminalMessageIds: readonly string[]): Promise<WebhookEvent[]> {
  if (terminalMessageIds.length === 0) return [];
  const { rows } = await completedStatement.run(on, [terminalMessageIds]);
  if (rows.length === 0) return [];
  const counts = await batchStatusCounts(
    on,
    rows.map((b) => b.id),
  );
  return rows.map((b) => ({
    id: b.id,
    type: "batch.completed",
    userId: b.user_id,
    occurredAt: b.now,
    data: toBatchJson({ id: b.id, total: b.total, createdAt: b.created_at }, counts.get(b.id)!),
  }));
}
