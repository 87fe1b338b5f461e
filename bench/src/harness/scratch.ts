import { randomBytes } from "node:crypto";
import { runMigrations } from "@inboxerr/db/migrate";
import { createDatabase, deleteKeysByPrefix, dropDatabase, withAdminClient, withDatabase } from "@inboxerr/testing";
import type { Cleanup } from "./cleanup";
import { redisUrl, serverUrl } from "./env";

const BENCH_DATABASE_PREFIX = "inboxerr_bench_";
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

const prefixesOpened = new Set<string>();

/**
 * Deletes the keys of every prefix this run opened. After an interrupt, in-process work (a raw
 * worker finishing a job) may write a key after its stage's cleanup: this catches those.
 */
export async function sweepOpenedPrefixes(): Promise<void> {
  for (const prefix of prefixesOpened) await deleteKeysByPrefix(redisUrl(), prefix).catch(() => undefined);
}

export type Scratch = { databaseUrl: string; database: string; queuePrefix: string };

/**
 * A fresh migrated database (`inboxerr_bench_<utc stamp>_<random>`) and a `{hash-tagged}` queue
 * prefix for one stage; `cleanup` drops the one and deletes the other's keys.
 */
export async function openScratch(stage: string, cleanup: Cleanup): Promise<Scratch> {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const suffix = randomBytes(4).toString("hex");
  const name = `${BENCH_DATABASE_PREFIX}${stamp}_${suffix}`;
  const queuePrefix = `{inboxerr-bench-${stage}-${suffix}}`;
  prefixesOpened.add(queuePrefix);
  await withAdminClient(serverUrl(), (admin) => createDatabase(admin, name));
  cleanup.defer(`drop database ${name}`, () => withAdminClient(serverUrl(), (admin) => dropDatabase(admin, name)));
  cleanup.defer(`delete Redis keys ${queuePrefix}*`, () => deleteKeysByPrefix(redisUrl(), queuePrefix));
  const databaseUrl = withDatabase(serverUrl(), name);
  await runMigrations(databaseUrl);
  return { databaseUrl, database: name, queuePrefix };
}

/** Drops bench databases of runs killed before their cleanup (older than six hours). */
export async function dropStaleBenchDatabases(now = Date.now()): Promise<void> {
  await withAdminClient(serverUrl(), async (admin) => {
    const { rows } = await admin.query<{ datname: string }>("select datname from pg_database where starts_with(datname, $1)", [
      BENCH_DATABASE_PREFIX,
    ]);
    for (const { datname } of rows) {
      const m = /^inboxerr_bench_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_/.exec(datname);
      if (!m) continue;
      const created = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
      if (now - created >= STALE_AFTER_MS) await dropDatabase(admin, datname).catch(() => undefined);
    }
  });
}
