/**
 * Issue #13: metrics-worker died on a Postgres restart (an unhandled 'error' event from a
 * client held for a transaction), and the sender holds clients the same way (sweeper, relay).
 * The real worker processes (their main.ts) run here on a Postgres and a Redis of the test's
 * own, both restarted under load: neither process may exit, and both must resume their work.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { and, count, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, createRedis, enqueueSends, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { createDb, messageEvents, messages, metricsAppliedEvents, type DbHandle } from "@inboxerr/db";
import { runMigrations } from "@inboxerr/db/migrate";
import {
  createTestUser,
  freePort,
  insertMessages,
  startPostgresServer,
  startRedisServer,
  waitFor,
  type PostgresServer,
  type RedisServer,
} from "@inboxerr/testing";
// Test-only wiring, through the sender's test harness: the simulator the sender talks to.
import { GATEWAY_CREDENTIALS, startGateway } from "@inboxerr/sender-worker/testing";

type Service = { name: string; child: ChildProcess; port: number; output: () => string };

let pg: PostgresServer;
let redis: RedisServer;
let handle: DbHandle;
let gateway: Awaited<ReturnType<typeof startGateway>>;
const services: Service[] = [];
const prefix = "{restarts}";

async function startService(name: "sender-worker" | "metrics-worker", env: Record<string, string>): Promise<Service> {
  const port = await freePort();
  const portKey = name === "sender-worker" ? "SENDER_PORT" : "METRICS_WORKER_PORT";
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: fileURLToPath(new URL(`../services/${name}/`, import.meta.url)),
    env: { ...process.env, DATABASE_URL: pg.url, REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: "warn", [portKey]: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const service = { name, child, port, output: () => output };
  await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok), { timeoutMs: 60_000, message: `${name} answers /healthz` });
  return service;
}

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  await runMigrations(pg.url);
  handle = createDb(pg.url, { max: 2, connectionTimeoutMillis: 1_000 });
  gateway = await startGateway();
  services.push(
    await startService("metrics-worker", {}),
    await startService("sender-worker", {
      SMSGATE_URL: gateway.url,
      SMSGATE_USERNAME: GATEWAY_CREDENTIALS.username,
      SMSGATE_PASSWORD: GATEWAY_CREDENTIALS.password,
      SMSGATE_DEVICE_ID: "",
      SMSGATE_TIMEOUT_MS: "15000",
      SENDER_CONCURRENCY: "20",
      SWEEPER_INTERVAL_SECONDS: "1",
      SWEEPER_STALE_SECONDS: "5",
    }),
  );
}, 180_000);

afterAll(async () => {
  for (const s of services) s.child.kill("SIGTERM");
  await Promise.all(services.map((s) => (s.child.exitCode === null ? new Promise((r) => s.child.once("exit", r)) : null)));
  await gateway?.close();
  await handle?.close();
  await redis?.stop();
  await pg?.destroy();
});

/** What each service that exited printed: [] while all run. */
const exited = () => services.filter((s) => s.child.exitCode !== null || s.child.signalCode !== null).map((s) => `${s.name} exited:\n${s.output()}`);

/** waitFor, cut short when a service exits (then the test reports its output). */
async function until(fn: () => Promise<boolean>, opts: { timeoutMs: number; message: string }): Promise<void> {
  await waitFor(async () => exited().length > 0 || (await fn()), { ...opts, intervalMs: 200 });
  expect(exited()).toEqual([]);
}

async function accepted(ids: string[]): Promise<number> {
  const [row] = await handle.db.select({ n: count() }).from(messages).where(and(inArray(messages.id, ids), eq(messages.status, "accepted")));
  return row?.n ?? 0;
}

async function appliedAccepted(ids: string[]): Promise<number> {
  const [row] = await handle.db
    .select({ n: count() })
    .from(metricsAppliedEvents)
    .innerJoin(messageEvents, eq(messageEvents.id, metricsAppliedEvents.eventId))
    .where(and(inArray(messageEvents.messageId, ids), eq(messageEvents.status, "accepted")));
  return row?.n ?? 0;
}

/** Inserts `n` queued messages and enqueues them on a connection of the test's own. */
async function send(userId: string, n: number): Promise<string[]> {
  const rows = await insertMessages(handle.db, userId, n);
  const connection = createRedis(redis.url, "worker");
  const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection, prefix });
  try {
    await enqueueSends(queue, rows);
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return rows.map((r) => r.id);
}

describe("the worker processes across restarts", () => {
  it("survive a Postgres restart under load and finish the work, counted by metrics-worker", async () => {
    const user = await createTestUser(handle.db);
    const ids = await send(user.id, 300);
    // Restart while the sender records statuses and metrics-worker folds events in transactions.
    await until(async () => (await accepted(ids)) >= 20, { timeoutMs: 60_000, message: "sending under way" });
    await pg.restart();
    await until(async () => (await accepted(ids)) === ids.length, { timeoutMs: 90_000, message: "all 300 accepted after the restart" });
    await until(async () => (await appliedAccepted(ids)) === ids.length, { timeoutMs: 60_000, message: "metrics-worker applied every accepted event" });
    expect(exited()).toEqual([]);
  }, 240_000);

  it("survive a Redis restart that loses every key, and send what comes after", async () => {
    const user = await createTestUser(handle.db);
    await redis.restartEmpty();
    const ids = await send(user.id, 50);
    await until(async () => (await accepted(ids)) === ids.length, { timeoutMs: 90_000, message: "all 50 accepted after the Redis restart" });
    await until(async () => (await appliedAccepted(ids)) === ids.length, { timeoutMs: 60_000, message: "metrics-worker applied their events" });
    expect(exited()).toEqual([]);
    for (const s of services) expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).ok).toBe(true);
  }, 180_000);
});
