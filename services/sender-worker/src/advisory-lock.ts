import type { DbHandle } from "@inboxerr/db";

/**
 * Advisory lock keys: one per singleton duty, so the sweeper, the outbox relay, the sender
 * sync and the health pass of different replicas run at most one at a time each. Arbitrary constants; changing one
 * lets an old and a new replica run the same duty concurrently during a rollout (harmless, but
 * wasteful).
 */
export const LOCK_KEYS = {
  sweeper: 4_712_030_001,
  outboxRelay: 4_712_030_002,
  senderSync: 4_712_030_003,
  senderHealth: 4_712_030_004,
} as const;

/**
 * Runs fn while holding a session advisory lock on a dedicated pooled connection, or returns
 * null at once when another process holds it. If the process dies, Postgres drops the session
 * and with it the lock, so a crashed replica never blocks the duty.
 */
export async function withAdvisoryLock<T>(pool: DbHandle["pool"], key: number, fn: () => Promise<T>): Promise<T | null> {
  const client = await pool.connect();
  // A connection that may still hold the lock, or is broken (Postgres restarted while we held
  // it), must not go back to the pool: release(err) makes the pool discard it.
  let broken: Error | undefined;
  try {
    let locked: boolean;
    try {
      const { rows } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1) as ok", [key]);
      locked = rows[0]?.ok === true;
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
    if (!locked) return null;
    try {
      return await fn();
    } finally {
      await client.query("select pg_advisory_unlock($1)", [key]).catch((err: unknown) => {
        broken = err instanceof Error ? err : new Error(String(err));
      });
    }
  } finally {
    client.release(broken);
  }
}
