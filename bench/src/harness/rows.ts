import { randomUUID } from "node:crypto";
import pg from "pg";
import { testNumber } from "./env";

const CHUNK = 5_000;

/** A user (tenant) row; benchmarks that bypass the api own their rows through it. */
export async function insertUser(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    "insert into users (email, password_hash, name) values ($1, 'not-a-real-hash', 'Bench') returning id",
    [`bench-${randomUUID()}@bench.inboxerr.dev`],
  );
  return rows[0]!.id;
}

/**
 * `n` one-segment messages of `userId` in `status` (queued, or accepted as if the sender had
 * sent them), inserted with unnest in chunks; returns their ids in order.
 */
export async function insertMessages(pool: pg.Pool, userId: string, n: number, status: "queued" | "accepted"): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  for (let i = 0; i < n; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    await pool.query(
      `insert into messages (id, user_id, "to", text, encoding, segments, status, queued_at, sending_at, accepted_at)
       select u.id, $2, u.to, 'Hello from the Inboxerr benchmark', 'GSM-7', 1, $3::text, now(),
              case when $3::text = 'accepted' then now() end, case when $3::text = 'accepted' then now() end
       from unnest($1::uuid[], $4::text[]) as u(id, "to")`,
      [chunk, userId, status, chunk.map((_, j) => testNumber(i + j))],
    );
  }
  return ids;
}

export function createPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 5_000 });
  pool.on("error", () => undefined);
  return pool;
}
