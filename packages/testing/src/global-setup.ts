import { randomBytes } from "node:crypto";
import { DEFAULT_DATABASE_URL, runMigrations } from "@inboxerr/db/migrate";
import {
  createDatabase,
  dropDatabase,
  dropStaleTestDatabases,
  testDatabaseName,
  withAdminClient,
  withDatabase,
} from "./database";
import { deleteKeysByPrefix } from "./redis";

/**
 * Vitest globalSetup: gives the run its own migrated Postgres database and its own BullMQ
 * prefix, so concurrent runs (and developers' data) never meet. The env set here is copied
 * into every forked test worker, which reads it through testEnv().
 */
export async function setup(): Promise<() => Promise<void>> {
  const serverUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const name = testDatabaseName();
  await withAdminClient(serverUrl, async (admin) => {
    await dropStaleTestDatabases(admin);
    await createDatabase(admin, name);
  });
  const databaseUrl = withDatabase(serverUrl, name);
  try {
    await runMigrations(databaseUrl);
  } catch (err) {
    await withAdminClient(serverUrl, (admin) => dropDatabase(admin, name));
    throw err;
  }

  const queuePrefix = `{inboxerr-test-${randomBytes(4).toString("hex")}}`;
  process.env.DATABASE_URL = databaseUrl;
  process.env.QUEUE_PREFIX = queuePrefix;
  process.env.REDIS_URL ||= "redis://127.0.0.1:6379";
  process.env.NODE_ENV = "test";
  process.env.LOG_LEVEL ||= "silent";
  const redisUrl = process.env.REDIS_URL;

  return async () => {
    await withAdminClient(serverUrl, (admin) => dropDatabase(admin, name));
    try {
      await deleteKeysByPrefix(redisUrl, queuePrefix);
    } catch (err) {
      console.warn(`[testing] could not clean Redis keys under ${queuePrefix}: ${(err as Error).message}`);
    }
  };
}
