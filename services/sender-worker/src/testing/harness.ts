// Test-only wiring: a real simulator over HTTP, real Postgres and Redis, a real sender.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Registry } from "prom-client";
import { parseConfig } from "@inboxerr/config";
import { createRedis } from "@inboxerr/contracts";
import { createDb, type DbHandle } from "@inboxerr/db";
import { smsGateDriverFromSettings, type GatewayDriver } from "@inboxerr/gateway";
import { createLogger } from "@inboxerr/logger";
import { testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
// Test-only (a devDependency): the sender never depends on the simulator at run time.
import { createSimulatorApp, type SimulatorOptions, type SimulatorStats } from "@inboxerr/gateway-simulator";
import { createSenderWorker, type SenderTuning } from "../app";
import type { Budgets } from "../route/budget-types";
import { SENDER_CONFIG_KEYS, type SenderConfig } from "../config";
import { SENDER_DB_OPTIONS } from "../db";

export { addAccount, addSenders, TEST_SECRETS_KEY } from "./fleet";

export const GATEWAY_CREDENTIALS = { username: "inboxerr", password: "sender-test-password" };

export const logger = createLogger({ service: "sender-worker-test", level: process.env.LOG_LEVEL ?? "silent" });

async function listen(app: express.Express): Promise<{ server: Server; base: string }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * The gateway simulator on an ephemeral port. `accepted` records when each 202 left it, by
 * message id, so rate tests measure what the gateway saw.
 */
export async function startGateway(opts: Partial<SimulatorOptions> = {}) {
  const sim = createSimulatorApp({ ...GATEWAY_CREDENTIALS, signingKey: "sender-test-signing-key", ...opts });
  const accepted = new Map<string, number>();
  const outer = express();
  // Parsed here so the id is at hand; the simulator's own parser skips a parsed body.
  outer.use(express.json());
  outer.use((req, res, next) => {
    if (req.method === "POST" && req.path.endsWith("/messages")) {
      const id = String((req.body as { id?: unknown } | undefined)?.id);
      res.on("finish", () => res.statusCode === 202 && accepted.set(id, Date.now()));
    }
    next();
  });
  outer.use(sim.app);
  const { server, base } = await listen(outer);
  return {
    url: `${base}/3rdparty/v1`,
    accepted,
    async stats(): Promise<SimulatorStats> {
      return (await (await fetch(`${base}/simulator/stats`)).json()) as SimulatorStats;
    },
    /** The primary account's stats, or the named account's (several accounts, ADR 0019 tests). */
    statsOf: (account?: string): SimulatorStats => sim.stats(account),
    /** Device ids of the primary account, or of the named one. */
    deviceIds: (account?: string): string[] => sim.devices(account).map((d) => d.id),
    /** A further account in the same simulator, with its own phones, throttle and stats. */
    async addAccount(login: { username: string; password: string }): Promise<string[]> {
      const res = await fetch(`${base}/simulator/accounts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(login),
      });
      if (res.status !== 201) throw new Error(`simulator refused the account: ${res.status}`);
      return ((await res.json()) as { devices: { id: string }[] }).devices.map((d) => d.id);
    },
    async close() {
      await sim.close();
      await shut(server);
    },
  };
}

/** A tiny stand-in gateway answering every send with `status` and an SMS-Gate-shaped body. */
export async function startStubGateway(status: number, body: unknown) {
  let requests = 0;
  const app = express();
  app.post("/3rdparty/v1/messages", (_req, res) => {
    requests += 1;
    res.status(status).json(body);
  });
  const { server, base } = await listen(app);
  return { url: `${base}/3rdparty/v1`, requests: () => requests, close: () => shut(server) };
}

/** A queue prefix no other test shares (the run's hash tag is kept for Redis Cluster). */
export const testPrefix = () => `${testEnv().queuePrefix}:sender-${uniqueSuffix()}`;

function testConfig(env: Record<string, string | undefined>): SenderConfig {
  return parseConfig(SENDER_CONFIG_KEYS, {
    ...process.env,
    SMSGATE_USERNAME: GATEWAY_CREDENTIALS.username,
    SMSGATE_PASSWORD: GATEWAY_CREDENTIALS.password,
    // Generous: on a loaded 2-core machine the in-process gateway can take seconds to answer,
    // and a timed-out send is retried and answered 409 (invariant 2), which the tests that
    // assert "sent once, no repeat" would misread. Tests of the timeout set their own.
    SMSGATE_TIMEOUT_MS: "30000",
    SENDER_RATE_LIMIT: "0",
    SMSGATE_DEVICE_ID: "",
    ...env,
  });
}

export type StartSenderOptions = {
  gatewayUrl: string;
  prefix: string;
  env?: Record<string, string>;
  tuning?: Partial<SenderTuning>;
  /** Another database than the run's (the sweeper and relay tests own theirs). */
  databaseUrl?: string;
  /** Point publishing at a dead Redis to see the outbox relay cover for it. */
  producerRedisUrl?: string;
  driver?: GatewayDriver;
  /** Budgets other than the Redis ones (route/budgets.ts) on the sender's producer connection. */
  budgets?: Budgets;
  /** Start the sweeper and relay timers too (default: off, tests call runSweeperOnce/runRelayOnce). */
  periodic?: boolean;
  autostart?: boolean;
};

/**
 * A sender replica wired like main.ts does it, started unless told otherwise. Resolves once
 * its Redis connections are up: the producer fails fast instead of queueing commands, so a
 * sweeper pass issued in the first milliseconds would otherwise fail.
 */
export async function startSender(opts: StartSenderOptions) {
  const config = testConfig({
    SMSGATE_URL: opts.gatewayUrl,
    QUEUE_PREFIX: opts.prefix,
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  });
  const db: DbHandle = createDb(config.DATABASE_URL, { ...SENDER_DB_OPTIONS, applicationName: "sender-worker-test" });
  const redis = {
    worker: createRedis(config.REDIS_URL, "worker"),
    producer: createRedis(opts.producerRedisUrl ?? config.REDIS_URL, "producer", opts.producerRedisUrl ? { retryStrategy: () => null } : {}),
  };
  const driver =
    opts.driver ??
    smsGateDriverFromSettings(config);
  await waitFor(() => redis.worker.status === "ready" && (opts.producerRedisUrl !== undefined || redis.producer.status === "ready"), {
    message: "redis connections ready",
  });
  const registry = new Registry();
  const sender = createSenderWorker({
    config,
    db,
    redis,
    driver,
    logger,
    registry,
    tuning: opts.tuning,
    ...(opts.budgets ? { budgets: opts.budgets } : {}),
  });
  if (opts.autostart !== false) sender.start({ periodic: opts.periodic ?? false });
  return {
    sender,
    db: db.db,
    dbHandle: db,
    config,
    driver,
    registry,
    async close() {
      await sender.close();
      redis.worker.disconnect();
      redis.producer.disconnect();
      await db.close();
    },
  };
}

export type TestSender = Awaited<ReturnType<typeof startSender>>;
