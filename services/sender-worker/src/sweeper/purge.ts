import { sql } from "drizzle-orm";
import type { Db } from "@inboxerr/db";

export type PurgeLimits = {
  /** Rows per DELETE: short statements, short locks, bounded WAL bursts. */
  batchSize: number;
  /** DELETEs per pass; a bigger backlog drains over the next passes. */
  maxBatches: number;
};

const DEFAULT_PURGE_LIMITS: PurgeLimits = { batchSize: 5_000, maxBatches: 20 };

/**
 * Deletes idempotency keys past `expires_at` (kept 24 h; a bulk's recorded response can be
 * ~1 MB, so the table would otherwise only grow). Rides idempotency_keys_expires_at_idx.
 * Returns the number of rows deleted.
 */
export async function purgeIdempotencyKeys(db: Db, limits: PurgeLimits = DEFAULT_PURGE_LIMITS): Promise<number> {
  let total = 0;
  for (let i = 0; i < limits.maxBatches; i++) {
    const { rowCount } = await db.execute(sql`
      delete from idempotency_keys where ctid in (
        select ctid from idempotency_keys where expires_at < now() limit ${limits.batchSize})`);
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < limits.batchSize) break;
  }
  return total;
}
