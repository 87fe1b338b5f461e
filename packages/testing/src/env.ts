import { randomBytes } from "node:crypto";
import { TEST_DATABASE_PREFIX } from "./database";

export interface TestEnv {
  databaseUrl: string;
  redisUrl: string;
  /** The run's `{hash-tagged}` BullMQ prefix; add uniqueSuffix() to queue names per test. */
  queuePrefix: string;
}

/** The per-run environment that global-setup.ts exported to the test workers. */
export function testEnv(): TestEnv {
  const { DATABASE_URL, REDIS_URL, QUEUE_PREFIX } = process.env;
  if (!DATABASE_URL || !REDIS_URL || !QUEUE_PREFIX) {
    throw new Error("test env missing: run tests through vitest, whose globalSetup is packages/testing/src/global-setup.ts");
  }
  return { databaseUrl: testDatabaseUrl(), redisUrl: REDIS_URL, queuePrefix: QUEUE_PREFIX };
}

/**
 * The run's scratch database. Refuses any other database, so a test that truncates or
 * fills tables can never touch a developer's or production data.
 */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  const name = url ? decodeURIComponent(new URL(url).pathname.slice(1)) : "";
  if (!url || !name.startsWith(TEST_DATABASE_PREFIX)) {
    throw new Error(`DATABASE_URL is not a test database (${name || "unset"}): run tests through vitest's globalSetup`);
  }
  return url;
}

/** Short, sortable-ish and unique across processes: for emails, queue names, custom ids. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
}
