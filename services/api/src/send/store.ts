import { randomUUID } from "node:crypto";
import { sql, type SQL } from "drizzle-orm";
import type { Tx } from "@inboxerr/db";
import { INSERT_CHUNK } from "./limits";
import type { Candidate } from "./prepare";

export type SendWindow = {
  scheduledAt: Date | null;
  validUntil: Date | null;
  priority: number;
};

export type StoreInput = SendWindow & {
  userId: string;
  batchId: string | null;
  candidates: readonly Candidate[];
  now: Date;
};

/** `scheduled` when the requested time is still ahead, else `queued` (stamped queued_at). */
export function initialStatus(scheduledAt: Date | null, now: Date): "scheduled" | "queued" {
  return scheduledAt && scheduledAt.getTime() > now.getTime() ? "scheduled" : "queued";
}

/**
 * Inserts one row per candidate with `unnest` arrays: one statement (six array parameters,
 * whatever the row count) per INSERT_CHUNK rows, far from Postgres's 65,535-parameter limit.
 * A customId the user already has is skipped by ON CONFLICT rather than failing the whole
 * transaction, which also settles two concurrent sends racing for one customId.
 * Returns the ids per candidate index, and the indexes skipped as duplicate customIds.
 */
export async function insertMessages(tx: Tx, input: StoreInput): Promise<{ ids: Map<number, string>; duplicates: number[] }> {
  const status = initialStatus(input.scheduledAt, input.now);
  const ids = new Map<number, string>();
  const duplicates: number[] = [];
  for (let start = 0; start < input.candidates.length; start += INSERT_CHUNK) {
    const chunk = input.candidates.slice(start, start + INSERT_CHUNK);
    const chunkIds = chunk.map(() => randomUUID());
    const hasCustomIds = chunk.some((c) => c.customId !== null);
    const result = await tx.execute<{ id: string }>(sql`
      insert into messages (id, user_id, batch_id, "to", text, encoding, segments, status, priority,
                            scheduled_at, valid_until, custom_id, queued_at)
      select v.id, ${input.userId}::uuid, ${input.batchId}::uuid, v.to, v.text, v.encoding, v.segments, ${status}::text,
             ${input.priority}::smallint, ${iso(input.scheduledAt)}::timestamptz, ${iso(input.validUntil)}::timestamptz,
             v.custom_id, ${status === "queued" ? sql`now()` : sql`null`}
      from unnest(
        ${sql.param(chunkIds)}::uuid[], ${sql.param(chunk.map((c) => c.to))}::text[],
        ${sql.param(chunk.map((c) => c.text))}::text[], ${sql.param(chunk.map((c) => c.encoding))}::text[],
        ${sql.param(chunk.map((c) => c.segments))}::int[], ${sql.param(chunk.map((c) => c.customId))}::text[]
      ) as v(id, "to", text, encoding, segments, custom_id)
      ${hasCustomIds ? onConflictReturning : sql``}`);
    // Without customIds nothing can conflict, so the ids need no round trip back.
    const inserted = hasCustomIds ? new Set(result.rows.map((r) => r.id)) : undefined;
    chunk.forEach((c, i) => {
      const id = chunkIds[i]!;
      if (!inserted || inserted.has(id)) ids.set(c.index, id);
      else duplicates.push(c.index);
    });
  }
  return { ids, duplicates };
}

const onConflictReturning: SQL = sql`on conflict (user_id, custom_id) where custom_id is not null do nothing returning id`;

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
