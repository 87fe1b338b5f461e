import express, { type Express } from "express";
import { sql } from "drizzle-orm";
import type { KeepJobs, JobsOptions, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { waitAtMost } from "@inboxerr/batch";
import { createOutageGuard, createQueue, createWorker, JOB_DEFAULTS, QUEUE_NAMES, type OutboxJobData } from "@inboxerr/contracts";
import { isDatabaseUnreachable, namedStatement, type Db } from "@inboxerr/db";
import { createMetricsRegistry, notFoundHandler, opsRouter, problemHandler, requestContext, securityHeaders } from "@inboxerr/http";
import type { Logger } from "@inboxerr/logger";
import { createDeliveryEngine, type DeliveryEngine, type DeliverySettings } from "./delivery/engine";
import { createEndpointCache } from "./fanout/endpoints";
import { createFanOut, type FanOut } from "./fanout/fanout";
import { createMessageEventConsumer, type DeriveEvents } from "./fanout/message-events";
import { createWebhookReconciler, type WebhookReconciler } from "./fanout/reconcile";
import { createSourcePoller, type EventSource } from "./fanout/sources";
import { createDispatcherInstruments } from "./prometheus";

export type WebhookDispatcherOptions = {
  db: Db;
  /** A "worker" connection (createRedis(url, "worker")): blocking reads, retries forever. */
  connection: Redis;
  prefix: string;
  logger: Logger;
  delivery: DeliverySettings;
  /**
   * webhook-events jobs in flight (default 8). A job carries up to 200 events (ADR 0024), so 8
   * keep a fan-out batch full; measured as good as 200 in `pnpm bench webhooks-out`.
   */
  concurrency?: number;
  /** How long close() waits for jobs and attempts in flight (default 10 s). */
  closeTimeoutMs?: number;
  /** How long an owner's endpoints are cached (default 3 s). */
  endpointCacheMs?: number;
  dbProbeIntervalMs?: number;
  /** The sibling outboxes polled (inbound SMS, sender events), one replica at a time each. */
  sources?: readonly EventSource[];
  /** How often the sources are polled (default 500 ms). */
  sourcePollMs?: number;
  /** Events implied by a batch of message events (batch.completed). */
  derive?: DeriveEvents;
  /**
   * The pass that fans out message events the queue lost (a Redis wipe): every `intervalMs`,
   * events published more than `afterMs` ago with no delivery. Off when omitted.
   */
  reconcile?: { intervalMs: number; afterMs: number; pageSize?: number };
};

export type WebhookDispatcher = {
  app: Express;
  worker: Worker;
  registry: Registry;
  /** Deliveries for events of any source (sender events, inbound SMS, batch.completed). */
  fanOut: FanOut;
  engine: DeliveryEngine;
  reconciler: WebhookReconciler | undefined;
  start: () => void;
  close: () => Promise<void>;
};

const DUE_COUNT = namedStatement<{ n: number }>(
  "webhook_dispatcher_due_count",
  // Per active endpoint through the claim's index: a disabled endpoint's backlog is not due
  // (it is not sent until re-enabled) and is not read.
  `select count(*)::int as n
   from webhook_endpoints e
   join webhook_deliveries d on d.endpoint_id = e.id
   where e.status = 'active'
     and d.status in ('pending', 'failed') and d.next_attempt_at <= now() and (d.leased_until is null or d.leased_until <= now())`,
);

/** Builds the webhook-dispatcher (consumer, delivery engine, ops app) without starting it: main.ts does. */
export function createWebhookDispatcher(opts: WebhookDispatcherOptions): WebhookDispatcher {
  const { registry, httpMetrics } = createMetricsRegistry("webhook-dispatcher");
  const ctx = { connection: opts.connection, prefix: opts.prefix };
  const queue = createQueue<OutboxJobData>(QUEUE_NAMES.webhookEvents, ctx);
  const metrics = createDispatcherInstruments(registry, {
    dueCount: async () => (await DUE_COUNT.run(opts.db, [])).rows[0]?.n ?? 0,
    queueDepth: async () => {
      const counts = await queue.getJobCounts("waiting", "prioritized", "delayed", "active", "paused");
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
  });
  const engine = createDeliveryEngine({ db: opts.db, logger: opts.logger, metrics, settings: opts.delivery });
  const endpoints = createEndpointCache(opts.db, opts.endpointCacheMs);
  const fanOut = createFanOut({
    db: opts.db,
    logger: opts.logger,
    endpoints,
    engine,
    metrics,
    firstDelayMs: (opts.delivery.schedule[0] ?? 0) * 1000,
  });
  const consumer = createMessageEventConsumer({
    db: opts.db,
    logger: opts.logger,
    endpoints,
    fanOut,
    ...(opts.derive ? { derive: opts.derive } : {}),
  });
  const reconciler = opts.reconcile
    ? createWebhookReconciler({
        db: opts.db,
        logger: opts.logger,
        endpoints,
        fanOut,
        ...(opts.derive ? { derive: opts.derive } : {}),
        afterMs: opts.reconcile.afterMs,
        ...(opts.reconcile.pageSize ? { pageSize: opts.reconcile.pageSize } : {}),
      })
    : undefined;
  const stopReconcile = new AbortController();
  let reconcileTimer: NodeJS.Timeout | undefined;
  let reconciling: Promise<unknown> | undefined;
  const poller = createSourcePoller({
    db: opts.db,
    logger: opts.logger,
    fanOut,
    sources: opts.sources ?? [],
    ...(opts.sourcePollMs ? { intervalMs: opts.sourcePollMs } : {}),
  });

  const retention = JOB_DEFAULTS[QUEUE_NAMES.webhookEvents];
  // A Postgres outage pauses consuming as a whole: events wait in the queue, attempts unspent.
  const outage = createOutageGuard({
    isOutage: isDatabaseUnreachable,
    probe: () => opts.db.execute(sql`select 1`),
    ...(opts.dbProbeIntervalMs ? { probeIntervalMs: opts.dbProbeIntervalMs } : {}),
    onPause: (err) => opts.logger.warn({ err }, "postgres unreachable; pausing webhook-events until it answers"),
    onResume: (downMs) => opts.logger.info({ downMs }, "postgres answers again; resuming webhook-events"),
  });
  const worker = createWorker(QUEUE_NAMES.webhookEvents, outage.wrap(consumer.process), ctx, {
    concurrency: opts.concurrency ?? 8,
    autorun: false,
    removeOnComplete: keepJobs(retention.removeOnComplete),
    removeOnFail: keepJobs(retention.removeOnFail),
  });
  outage.attach(worker);
  worker.on("error", (err) => opts.logger.error({ err }, "webhook-events worker error"));
  worker.on("failed", (job, err) => opts.logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, "webhook-events job failed"));

  const app = express();
  app.disable("x-powered-by");
  // No log context (AsyncLocalStorage) for its few ops requests: its promise hooks would tax
  // every promise of the delivery path once the first scrape came (packages/http).
  app.use(securityHeaders(), requestContext(opts.logger, { logContext: false }), httpMetrics);
  app.use(
    opsRouter({
      registry,
      checks: {
        postgres: () => opts.db.execute(sql`select 1`),
        redis: () => opts.connection.ping(),
        worker: async () => {
          if (!worker.isRunning()) throw new Error("not consuming");
        },
        secrets: async () => {
          if (!engine.canDeliver) throw new Error("SECRETS_KEY is not set: nothing can be signed");
        },
      },
    }),
  );
  app.use(notFoundHandler);
  app.use(problemHandler(opts.logger));

  let closing: Promise<void> | undefined;
  return {
    app,
    worker,
    registry,
    fanOut,
    engine,
    reconciler,
    start() {
      void worker.run();
      engine.start();
      poller.start();
      if (reconciler && opts.reconcile) {
        reconcileTimer = setInterval(() => {
          reconciling ??= reconciler
            .runOnce(stopReconcile.signal)
            .catch((err: unknown) => opts.logger.warn({ err }, "webhook reconcile pass failed; the next one retries"))
            .finally(() => (reconciling = undefined));
        }, opts.reconcile.intervalMs);
        reconcileTimer.unref();
      }
    },
    close: () =>
      (closing ??= (async () => {
        outage.stop();
        if (reconcileTimer) clearInterval(reconcileTimer);
        stopReconcile.abort();
        await reconciling;
        await poller.close();
        const bound = opts.closeTimeoutMs ?? 10_000;
        if (!(await waitAtMost(worker.close(), bound))) {
          opts.logger.warn({ boundMs: bound }, "webhook-events jobs did not finish in time; BullMQ will redeliver them");
          await worker.close(true);
        }
        await consumer.close();
        await engine.close(bound);
        await queue.close();
      })()),
  };
}

function keepJobs(v: JobsOptions["removeOnComplete"]): KeepJobs {
  if (typeof v === "object") return v;
  if (typeof v === "number") return { count: v };
  return v ? { count: 0 } : { count: Number.MAX_SAFE_INTEGER };
}
