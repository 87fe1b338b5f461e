import type { Redis } from "ioredis";
import type { DbHandle } from "@inboxerr/db";

/** A key the decide script found missing: the sender's count for today, or its recipients this month. */
export type MissingKey = { senderId: string; kind: "day" | "month" };

export type RebuildTarget = {
  /** `<base>:<gen>`: the generation the script reported, so keys land where it reads them. */
  genBase: string;
  day: string;
  month: string;
  dayStart: number;
  monthStart: number;
};

const DAY_TTL_MS = 3 * 86_400_000;
const MONTH_TTL_MS = 40 * 86_400_000;
/** The monthly set always holds this non-E.164 member, so an empty month still exists as a key. */
const MONTH_PLACEHOLDER = "~";
const SADD_CHUNK = 10_000;

export const dayKey = (genBase: string, day: string, senderId: string) => `${genBase}:day:${day}:${senderId}`;
const monthKey = (genBase: string, month: string, senderId: string) => `${genBase}:month:${month}:${senderId}`;

/**
 * Sets the missing keys from attempt rows, by senderUsage's definition (packages/db
 * fleet/usage.ts): attempts begun since the UTC day start, and distinct recipients of attempts
 * since the UTC month start, a cancelled attempt aside. No upper bound on created_at: an
 * attempt stamped a little after our clock (another replica's clock, a transaction's now())
 * is spent all the same, and counting it can only under-spend.
 *
 * Every write is NX (SET NX; a set built aside and RENAMENX'd in), so two replicas rebuilding
 * at once end with one value, and a key another replica already rebuilt and spent from is kept.
 */
export async function rebuildBudgetKeys(redis: Redis, pool: DbHandle["pool"], target: RebuildTarget, missing: readonly MissingKey[]): Promise<void> {
  const daily = [...new Set(missing.filter((m) => m.kind === "day").map((m) => m.senderId))];
  const monthly = [...new Set(missing.filter((m) => m.kind === "month").map((m) => m.senderId))];
  const [today, recipients] = await Promise.all([
    daily.length === 0
      ? Promise.resolve([])
      : pool
          .query<{ sender_id: string; n: number }>(
            `select sender_id::text as sender_id, count(*)::int as n
             from message_attempts
             where sender_id = any($1::uuid[]) and created_at >= $2 and status <> 'cancelled'
             group by sender_id`,
            [daily, new Date(target.dayStart)],
          )
          .then((r) => r.rows),
    monthly.length === 0
      ? Promise.resolve([])
      : pool
          .query<{ sender_id: string; recipient: string }>(
            `select distinct a.sender_id::text as sender_id, m."to" as recipient
             from message_attempts a
             join messages m on m.id = a.message_id
             where a.sender_id = any($1::uuid[]) and a.created_at >= $2 and a.status <> 'cancelled'`,
            [monthly, new Date(target.monthStart)],
          )
          .then((r) => r.rows),
  ]);

  const counts = new Map(today.map((r) => [r.sender_id, r.n]));
  const members = new Map<string, string[]>(monthly.map((id) => [id, [MONTH_PLACEHOLDER]]));
  for (const r of recipients) members.get(r.sender_id)?.push(r.recipient);

  const tx = redis.multi();
  for (const id of daily) tx.set(dayKey(target.genBase, target.day, id), counts.get(id) ?? 0, "PX", DAY_TTL_MS, "NX");
  for (const [id, list] of members) {
    // Built under a name of its own, then renamed only if no replica made the key meanwhile.
    const key = monthKey(target.genBase, target.month, id);
    const aside = `${key}:rebuild`;
    tx.del(aside);
    for (let i = 0; i < list.length; i += SADD_CHUNK) tx.sadd(aside, ...list.slice(i, i + SADD_CHUNK));
    tx.pexpire(aside, MONTH_TTL_MS);
    tx.renamenx(aside, key);
    tx.del(aside);
  }
  const results = await tx.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error("budget rebuild: transaction aborted");
}
