import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { createOutageGuard, createOutboxQueues, createQueue, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { isDatabaseUnreachable, parseSecretsKey, type DbHandle } from "@inboxerr/db";
import type { GatewayDriver } from "@inboxerr/gateway";
import type { Logger } from "@inboxerr/logger";
import { createOutboxPublisher, createOutboxRelay } from "@inboxerr/outbox";
import { LOCK_KEYS, withAdvisoryLock } from "./advisory-lock";
import type { SenderConfig } from "./config";
import { createOpsApp } from "./ops";
import { createHealthPass, healthIntervalMs } from "./health/health-pass";
import { createSenderInstruments, registerSendersGauge } from "./prometheus";
import { startPeriodic } from "./periodic";
import type { Budgets } from "./route/budget-types";
import { createBudgets } from "./route/budgets";
import { createAccountDrivers } from "./route/drivers";
import { createFleetCache } from "./route/fleet-cache";

import { createStatusBatcher } from "./send/batcher";
import { createSendProcessor } from "./send/processor";
import { createSendWorker } from "./send/worker";
import { createSweeper } from "./sweeper/sweeper";
import { createSenderSync } from "./sync/sender-sync";

/** The first sender sync runs this soon after boot (at a random point, so replicas spread out). */
const SENDER_SYNC_FIRST_WITHIN_MS = 5_000;

/** Knobs that are not operator settings; tests shorten them. */
export type SenderTuning = {
  /** The relay leaves events younger than this to the publish after their commit. */
  outboxMinAgeMs: number;
  outboxIntervalMs: number;
  /** Queued (or due scheduled) rows younger than this are assumed to still have their job. */
  sweeperGraceMs: number;
  pageSize: number;
  /** Added to SMSGATE_TIMEOUT_MS for the shutdown bound: time to record the last answers. */
  shutdownMarginMs: number;
  /** While Postgres is unreachable the worker is paused and probes it this often. */
  dbProbeIntervalMs: number;
  /** How old the cached senders and accounts may be: a pause takes effect within this (ADR 0019). */
  senderCacheMs: number;
  /** Longest a `rate_limited` message's job sleeps before routing again (a new sender). */
  maxWaitMs: number;
  /**
   * Longest a job sleeps on a cap or sender wait (daily_cap, monthly_cap, no_active_sender,
   * paused, sender_offline) before routing again: a raised cap or a resumed sender is noticed
   * within it. Longer than maxWaitMs so a capped backlog does not wake all day (ADR 0019).
   */
  maxCapWaitMs: number;
  /** The budgets' wait after Redis lost everything, before rebuilding from Postgres (ADR 0019). */
  budgetSettleMs: number;
  /** The budgets' clock (epoch ms): UTC days and months; tests move it. */
  budgetClock: () => number;
};

export const DEFAULT_TUNING: SenderTuning = {
  outboxMinAgeMs: 5_000,
  outboxIntervalMs: 2_000,
  sweeperGraceMs: 30_000,
  pageSize: 1_000,
  shutdownMarginMs: 5_000,
  dbProbeIntervalMs: 1_000,
  senderCacheMs: 1_000,
  maxWaitMs: 60_000,
  maxCapWaitMs: 300_000,
  budgetSettleMs: 5_000,
  budgetClock: () => Date.now(),
};

export type SenderWorkerDeps = {
  config: SenderConfig;
  db: DbHandle;
  redis: {
    /** For the BullMQ worker: maxRetriesPerRequest null, reconnects forever. */
    worker: Redis;
    /** For publishing and the sweeper: fails fast, so a Redis outage never hangs a job. */
    producer: Redis;
  };
  driver: GatewayDriver;
  logger: Logger;
  registry: Registry;
  tuning?: Partial<SenderTuning>;
  /** The carrier budgets; default: the Redis ones on the producer connection (route/budgets.ts). */
  budgets?: Budgets;
};

/**
 * Builds the sender: the `sms-send` worker, its status batcher and outbox publisher, the
 * sweeper, the outbox relay, the sender sync, the health pass and the ops app (`app`: health, readiness, /metrics). No side
 * effects until start(); the caller listens, and owns (and closes) the database and Redis
 * connections it passed in.
 */
export function createSenderWorker(deps: SenderWorkerDeps) {
  const { config, db, logger } = deps;
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const metrics = createSenderInstruments(deps.registry);
  registerSendersGauge(deps.registry, db.pool, logger);
  const producerCtx = { connection: deps.redis.producer, prefix: config.QUEUE_PREFIX };
  const sendQueue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, producerCtx);
  const eventQueues = createOutboxQueues(producerCtx);
  for (const q of [sendQueue, ...eventQueues]) q.on("error", (err) => logger.warn({ err, queue: q.name }, "queue error"));

  const outbox = { pool: db.pool, queues: eventQueues, logger };
  const publisher = createOutboxPublisher({ ...outbox, onFailure: (n) => metrics.outboxPublishFailures.inc(n) });
  const fleet = createFleetCache({ db: db.db, refreshMs: tuning.senderCacheMs, logger });
  const budgets =
    deps.budgets ??
    createBudgets({
      redis: deps.redis.producer,
      pool: db.pool,
      prefix: config.QUEUE_PREFIX,
      clock: tuning.budgetClock,
      settleMs: tuning.budgetSettleMs,
    });
  const secrets = config.SECRETS_KEY ? parseSecretsKey(config.SECRETS_KEY) : null;
  const drivers = createAccountDrivers({ envDriver: deps.driver, secrets, timeoutMs: config.SMSGATE_TIMEOUT_MS });
  const batcher = createStatusBatcher({
    db: db.db,
    publisher,
    metrics,
    routing: { fleet, budgets, maxWaitMs: tuning.maxWaitMs, maxCapWaitMs: tuning.maxCapWaitMs, budgetClock: tuning.budgetClock },
    maxAttempts: config.SEND_MAX_ATTEMPTS,
  });
  // A Postgres outage pauses sending as a whole instead of failing (and logging) every job.
  const outage = createOutageGuard({
    isOutage: isDatabaseUnreachable,
    probe: () => db.pool.query("select 1"),
    probeIntervalMs: tuning.dbProbeIntervalMs,
    onPause: (err) => logger.warn({ err }, "postgres unreachable; pausing sms-send until it answers"),
    onResume: (downMs) => logger.info({ downMs }, "postgres answers again; resuming sms-send"),
  });
  const sender = createSendWorker({
    ctx: { connection: deps.redis.worker, prefix: config.QUEUE_PREFIX },
    processor: createSendProcessor({
      batcher,
      driver: deps.driver,
      queue: sendQueue,
      metrics,
      logger,
      deviceId: config.SMSGATE_DEVICE_ID,
      simNumber: config.SMSGATE_SIM_NUMBER,
      maxAttempts: config.SEND_MAX_ATTEMPTS,
      routing: { fleet, drivers, budgets },
    }),
    concurrency: config.SENDER_CONCURRENCY,
    rateLimit: config.SENDER_RATE_LIMIT,
    logger,
    outage,
  });
  const sweeper = createSweeper({
    db,
    queue: sendQueue,
    redis: deps.redis.producer,
    publisher,
    metrics,
    logger,
    staleMs: config.SWEEPER_STALE_SECONDS * 1_000,
    graceMs: tuning.sweeperGraceMs,
    pageSize: tuning.pageSize,
    maxAttempts: config.SEND_MAX_ATTEMPTS,
  });
  const relay = createOutboxRelay({
    ...outbox,
    onRepublished: (n) => metrics.outboxRepublished.inc(n),
    minAgeMs: tuning.outboxMinAgeMs,
    pageSize: tuning.pageSize,
    maxPages: 100,
  });
  /** How many events the relay republished, or null when another replica holds the relay's lock. */
  const runRelayOnce = () => withAdvisoryLock(db.pool, LOCK_KEYS.outboxRelay, () => relay.runOnce());
  const senderSync = createSenderSync({
    db,
    settings: {
      secrets,
      defaultPassword: config.SMSGATE_PASSWORD,
      timeoutMs: config.SMSGATE_TIMEOUT_MS,
    },
    logger,
  });
  /** Accounts synced and failed, or null when another replica holds the sync's lock. */
  const runSenderSyncOnce = () => withAdvisoryLock(db.pool, LOCK_KEYS.senderSync, () => senderSync.runOnce());

  const health = createHealthPass({
    db,
    fleet,
    drivers,
    queue: sendQueue,
    publisher,
    metrics,
    logger,
    offlineAfterSeconds: config.SENDER_OFFLINE_AFTER_SECONDS,
    failoverAfterSeconds: config.FAILOVER_AFTER_SECONDS,
    maxAttempts: config.SEND_MAX_ATTEMPTS,
  });
  /** What the health pass changed, or null when another replica holds its lock. */
  const runHealthOnce = (signal?: AbortSignal) => withAdvisoryLock(db.pool, LOCK_KEYS.senderHealth, () => health.runOnce(signal));

  let periodic: ReturnType<typeof startPeriodic>[] = [];
  let closing: Promise<void> | undefined;

  return {
    app: createOpsApp({ registry: deps.registry, db: db.db, redis: deps.redis.producer, pausedForDatabase: () => outage.paused }),
    registry: deps.registry,
    /** The senders and accounts routing sees now (cached for `senderCacheMs`). */
    fleetSnapshot: () => fleet.get(),
    sendQueue,
    /** The outbox queues this replica publishes to (one per consumer). */
    eventQueues,
    worker: sender.worker,
    /** Whether sending is paused because Postgres is unreachable. */
    get pausedForDatabase() {
      return outage.paused;
    },
    /**
     * Starts draining `sms-send` and, unless `periodic` is false (tests drive them by hand with
     * runSweeperOnce/runRelayOnce/runSenderSyncOnce/runHealthOnce), the sweeper, the outbox relay, the
     * sender sync and the health pass.
     */
    start(opts: { periodic?: boolean } = {}): void {
      sender.start();
      if (opts.periodic === false) return;
      periodic = [
        startPeriodic("sweeper", config.SWEEPER_INTERVAL_SECONDS * 1_000, () => sweeper.runOnce(), logger),
        startPeriodic("outbox-relay", tuning.outboxIntervalMs, runRelayOnce, logger),
        // Within seconds of boot, not a whole interval: a fresh install lists its phones at once.
        startPeriodic("sender-sync", config.SENDER_SYNC_SECONDS * 1_000, runSenderSyncOnce, logger, SENDER_SYNC_FIRST_WITHIN_MS),
        startPeriodic("sender-health", healthIntervalMs(config.SENDER_OFFLINE_AFTER_SECONDS), runHealthOnce, logger),
      ];
    },
    runSweeperOnce: () => sweeper.runOnce(),
    runRelayOnce,
    runSenderSyncOnce,
    runHealthOnce,
    /**
     * Shutdown order: stop the periodic duties while in-flight sends finish (bounded by the
     * gateway timeout plus a margin, then forced), write their last statuses, publish their
     * events, and close the queues. Safe to call twice.
     */
    close(): Promise<void> {
      closing ??= (async () => {
        // Side by side: a health pass cut short still waits for its cancels in flight (up to
        // SMSGATE_TIMEOUT_MS), as the send drain waits for its sends; both use the queues and
        // the publisher closed below.
        await Promise.all([...periodic.map((p) => p.stop()), sender.close(config.SMSGATE_TIMEOUT_MS + tuning.shutdownMarginMs)]);
        await batcher.close();
        await publisher.close();
        await Promise.all([sendQueue, ...eventQueues].map((q) => q.close()));
      })();
      return closing;
    },
  };
}
