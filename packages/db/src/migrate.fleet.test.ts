import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER, runMigrations } from "./migrate";
import { randomSuffix } from "./test-support";

// 0003_fleet carries part-1 data over: build a database as part 1 left it (migrations up to
// 0002), fill it, then migrate up and look at what 0003 made of it.
const serverUrl = process.env.DATABASE_URL!;
const created: string[] = [];

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function scratchDatabase(): Promise<string> {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const name = `inboxerr_test_${stamp}_fleet${randomSuffix()}`;
  await withClient(serverUrl, (c) => c.query(`create database "${name}"`));
  created.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Applies the committed migrations up to and including `lastTag`, from a trimmed copy of drizzle/. */
async function migrateUpTo(url: string, lastTag: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "inboxerr-migrations-"));
  try {
    await cp(MIGRATIONS_FOLDER, dir, { recursive: true });
    const journalPath = join(dir, "meta", "_journal.json");
    const journal = JSON.parse(await readFile(journalPath, "utf8")) as { entries: { tag: string }[] };
    const last = journal.entries.findIndex((e) => e.tag === lastTag);
    expect(last).toBeGreaterThanOrEqual(0);
    journal.entries = journal.entries.slice(0, last + 1);
    await writeFile(journalPath, JSON.stringify(journal));
    await withClient(url, (client) => migrate(drizzle({ client }), { migrationsFolder: dir }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

afterAll(() =>
  withClient(serverUrl, async (c) => {
    for (const name of created) await c.query(`drop database if exists "${name}" with (force)`);
  }),
);

type Part1Message = { status: string; attempts: number; error?: string; acceptedAt?: boolean };

describe("0003_fleet on a part-1 database", () => {
  it("gives each message that may have reached the gateway one attempt with its own id", async () => {
    const url = await scratchDatabase();
    await migrateUpTo(url, "0002_metrics_reconcile");

    const part1: Record<string, Part1Message> = {
      neverClaimed: { status: "queued", attempts: 0 },
      scheduled: { status: "scheduled", attempts: 0 },
      cancelledBeforeSend: { status: "cancelled", attempts: 0 },
      failedBeforeSend: { status: "failed", attempts: 0, error: "invalid number" },
      inFlight: { status: "sending", attempts: 1 },
      claimedTwice: { status: "sending", attempts: 2 },
      accepted: { status: "accepted", attempts: 1 },
      sent: { status: "sent", attempts: 1 },
      delivered: { status: "delivered", attempts: 1 },
      failedOnPhone: { status: "failed", attempts: 1, error: "RESULT_ERROR_NO_SERVICE" },
      failedReportedBeforeCount: { status: "failed", attempts: 0, error: "gateway", acceptedAt: true },
      expiredWhileSending: { status: "expired", attempts: 1 },
    };
    const ids = await withClient(url, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        "insert into users (email, password_hash) values ('part1@test.inboxerr.dev', 'x') returning id",
      );
      const userId = rows[0]!.id;
      const out: Record<string, string> = {};
      for (const [name, m] of Object.entries(part1)) {
        const { rows: inserted } = await c.query<{ id: string }>(
          `insert into messages (user_id, "to", text, encoding, segments, status, attempts, error,
             sending_at, accepted_at, failed_at, expired_at)
           values ($1, '+447700900001', 'hi', 'GSM-7', 1, $2, $3, $4,
             case when $3 > 0 then now() end, case when $5 then now() end,
             case when $2 = 'failed' then now() end, case when $2 = 'expired' then now() end)
           returning id`,
          [userId, m.status, m.attempts, m.error ?? null, m.acceptedAt ?? false],
        );
        out[name] = inserted[0]!.id;
      }
      return out;
    });

    expect((await runMigrations(url)).applied).toBeGreaterThan(0);

    const attempts = await withClient(url, async (c) => {
      const { rows } = await c.query<{ id: string; message_id: string; sender_id: string | null; n: number; status: string; error: string | null }>(
        "select id, message_id, sender_id, n, status, error from message_attempts",
      );
      return new Map(rows.map((r) => [r.message_id, r]));
    });
    const attemptOf = (name: string) => attempts.get(ids[name]!);

    for (const name of ["neverClaimed", "scheduled", "cancelledBeforeSend", "failedBeforeSend"]) {
      expect(attemptOf(name), name).toBeUndefined();
    }
    const expected: Record<string, { status: string; error?: string | null }> = {
      inFlight: { status: "sending" },
      claimedTwice: { status: "sending" },
      accepted: { status: "accepted" },
      sent: { status: "sent" },
      delivered: { status: "delivered" },
      failedOnPhone: { status: "failed", error: "RESULT_ERROR_NO_SERVICE" },
      failedReportedBeforeCount: { status: "failed", error: "gateway" },
      expiredWhileSending: { status: "failed", error: "expired" },
    };
    for (const [name, want] of Object.entries(expected)) {
      expect(attemptOf(name), name).toMatchObject({ id: ids[name], n: 1, sender_id: null, ...want });
    }
    expect(attempts.size).toBe(Object.keys(expected).length);

    // The new message columns start empty on old rows.
    const columns = await withClient(url, (c) =>
      c.query("select count(*)::int as n from messages where sender_id is not null or pinned_sender_id is not null or waiting_reason is not null"),
    );
    expect(columns.rows[0]).toEqual({ n: 0 });
  });
});
