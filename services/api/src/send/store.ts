import { randomUUID } from "node:crypto";
import { sql, type SQL } from "drizzle-orm";
import type { Tx } from "@inboxerr/db";
import { INSERT_CHUNK } from "./limits";
import type { Candidate } from "./prepare";

type SendWindow = {
  scheduledAt: Date | null;
  validUntil: Date | null;
  priority: number;
};

export type StoreInput = SendWindow & {
  userId: string;
  batchId: string | null;
  /** `from`, resolved (sender-pin.ts): routing sends these messages through that sender only. */
  pinnedSenderId: string | null;
  candidates: readonly Candidate[];
  now: Date;
};

/** `scheduled` when the requested time is still ahead, else `queued` (stamped queued_at). */
export function initialStatus(scheduledAt: Date | null, now: Date): "scheduled" | "queued" {
  return scheduledAt && scheduledAt.getTime() > now.getTime() ? "scheduled" : "queued";
}

/**
 * Inserts one row per candidate with `unnest` arrays: one statement (at most six array
 * parameters, whatever the row count; three when the chunk shares one text) per INSERT_CHUNK rows, far from Postgres's 65,535-parameter limit.
 * A customId the user already has is skipped by ON CONFLICT rather than failing the whole
 * transaction, which also settles two concurrent sends racing for one customId.
 * Returns the ids per candidate index, and the indexes skipped as duplicate customIds.
 */
export async function insertMessages(tx: Tx, input: StoreInput): Promise<{ ids: Map<number, string>; duplicates: number[] }> {
  const status = initialStatus(input.scheduledAt, input.now);
  const { candidates } = input;
  const ids = new Map<number, string>();
  const duplicates: number[] = [];
  for (let start = 0; start < candidates.length; start += INSERT_CHUNK) {
    const end = Math.min(start + INSERT_CHUNK, candidates.length);
    const n = end - start;
    // The unnest columns are filled in one pass, straight from the candidates: no chunk copy,
    // no per-column map. When every text of the chunk is the same (a shared template without
    // placeholders, the common bulk) it goes once as a scalar instead of n times in an array.
    const chunkIds = new Array<string>(n);
    const tos = new Array<string>(n);
    const customIds = new Array<string | null>(n);
    const first = candidates[start]!;
    let sameText = true;
    let hasCustomIds = false;
    for (let i = 0; i < n; i++) {
      const c = candidates[start + i]!;
      chunkIds[i] = randomUUID();
      tos[i] = c.to;
      customIds[i] = c.customId;
      if (c.customId !== null) hasCustomIds = true;
      if (c.text !== first.text) sameText = false;
    }
    let rows: SQL;
    if (sameText) {
      rows = sql`(select u.id, u."to", ${first.text}::text as text, ${first.encoding}::text as encoding,
                         ${first.segments}::int as segments, u.custom_id
                  from unnest(${sql.param(chunkIds)}::uuid[], ${sql.param(tos)}::text[], ${sql.param(customIds)}::text[])
                       as u(id, "to", custom_id))`;
    } else {
      const texts = new Array<string>(n);
      const encodings = new Array<string>(n);
      const segments = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const c = candidates[start + i]!;
        texts[i] = c.text;
        encodings[i] = c.encoding;
        segments[i] = c.segments;
      }
      rows = sql`unnest(${sql.param(chunkIds)}::uuid[], ${sql.param(tos)}::text[], ${sql.param(texts)}::text[],
                        ${sql.param(encodings)}::text[], ${sql.param(segments)}::int[], ${sql.param(customIds)}::text[])`;
    }
    const result = await tx.execute<{ id: string }>(sql`
      insert into messages (id, user_id, batch_id, "to", text, encoding, segments, status, priority,
                            scheduled_at, valid_until, custom_id, queued_at, pinned_sender_id)
      select v.id, ${input.userId}::uuid, ${input.batchId}::uuid, v.to, v.text, v.encoding, v.segments, ${status}::text,
             ${input.priority}::smallint, ${iso(input.scheduledAt)}::timestamptz, ${iso(input.validUntil)}::timestamptz,
             v.custom_id, ${status === "queued" ? sql`now()` : sql`null`}, ${input.pinnedSenderId}::uuid
      from ${rows} as v(id, "to", text, encoding, segments, custom_id)
      ${hasCustomIds ? onConflictReturning : sql``}`);
    // Without customIds nothing can conflict, so the ids need no round trip back.
    const inserted = hasCustomIds ? new Set(result.rows.map((r) => r.id)) : undefined;
    for (let i = 0; i < n; i++) {
      const id = chunkIds[i]!;
      const index = candidates[start + i]!.index;
      if (!inserted || inserted.has(id)) ids.set(index, id);
      else duplicates.push(index);
    }
  }
  return { ids, duplicates };
}

const onConflictReturning: SQL = sql`on conflict (user_id, custom_id) where custom_id is not null do nothing returning id`;

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
