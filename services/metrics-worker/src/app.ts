import express, { type Express } from "express";
import { sql } from "drizzle-orm";
import type { JobsOptions, KeepJobs, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { createOutageGuard, createWorker, JOB_DEFAULTS, QUEUE_NAMES } from "@inboxerr/contracts";
import { isDatabaseUnreachable, type Db } from "@inboxerr/db";
import { createMetricsRegistry, notFoundHandler, opsRouter, problemHandler, requestContext, securityHeaders } from "@inboxerr/http";
import type { Logger } from "@inboxerr/logger";
import { createEventConsumer, type AggregateBatchOptions } from "./aggregate/consumer";
import { createMetricsWorkerInstruments } from "./prometheus";
import { createReconciler, type Reconciler } from "./reconcile/reconcile";
import { every, type Schedule } from "./reconcile/schedule";

export type MetricsWorkerOptions = {
  db: Db;
  /** A "worker" connection (createRedis(url, "worker")): blocking reads, retries forever. */
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** Jobs in flight; they are what a batch can fold (default 50). */
  concurrency?: number;
  batch?: AggregateBatchOptions;
  /** How long close() waits for active jobs before abandoning them to BullMQ's stall check. */
  closeTimeoutMs?: number;
  /**
   * Counts events the queue lost (ADR 0008): every `intervalMs`, events published more
   * than `afterMs` ago that were never applied. Omitted: no reconcile pass runs.
   */
  reconcile?: { intervalMs: number; afterMs: number; pageSize?: number; maxPages?: number };
  /** While Postgres is unreachable the worker is paused and probes it this often (default 1 s). */
  dbProbeIntervalMs?: number;
};

export type MetricsWorker = {
  /** Health, readiness and Prometheus metrics. */
  app: Express;
  worker: Worker;
  registry: Registry;
  /** The reconcile pass (also run on its own schedule once started). */
  reconciler: Reconciler | undefined;
  /** Starts consuming `message-events` and the reconcile schedule. */
  start: () => void;
  /** Stops fetching, lets active jobs' batch commit (bounded), and releases the worker. */
  close: () => Promise<void>;
};

/** Builds the metrics-worker (consumer and ops app) without starting it: main.ts does. */
export function createMetricsWorker(opts: MetricsWorkerOptions): MetricsWorker {
  const { registry, httpMetrics } = createMetricsRegistry("metrics-worker");
  const metrics = createMetricsWorkerInstruments(registry);
  const consumer = createEventConsumer({
    db: opts.db,
    logger: opts.logger,
    metrics,
    ...(opts.batch ? { batch: opts.batch } : {}),
  });
  // Jobs carry these from publishEvents; the worker repeats them for jobs added any other way.
  const retention = JOB_DEFAULTS[QUEUE_NAMES.messageEvents];
  // A Postgres outage pauses consuming as a whole: events wait in the queue, attempts unspent.
  const outage = createOutageGuard({
    isOutage: isDatabaseUnreachable,
    probe: () => opts.db.execute(sql`select 1`),
    ...(opts.dbProbeIntervalMs ? { probeIntervalMs: opts.dbProbeIntervalMs } : {}),
    onPause: (err) => opts.logger.warn({ err }, "postgres unreachable; pausing message-events until it answers"),
    onResume: (downMs) => opts.logger.info({ downMs }, "postgres answers again; resuming message-events"),
  });
  const worker = createWorker(QUEUE_NAMES.messageEvents, outage.wrap(consumer.process), { connection: opts.connection, prefix: opts.prefix }, {
    concurrency: opts.concurrency ?? 50,
    autorun: false,
    removeOnComplete: keepJobs(retention.removeOnComplete),
    removeOnFail: keepJobs(retention.removeOnFail),
  });
  outage.attach(worker);
  worker.on("error", (err) => opts.logger.error({ err }, "message-events worker error"));
  worker.on("failed", (job, err) =>
    opts.logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, "message-events job failed"),
  );

  const app = express();
  app.disable("x-powered-by");
  app.use(securityHeaders(), requestContext(opts.logger), httpMetrics);
  app.use(
    opsRouter({
      registry,
      checks: {
        postgres: () => opts.db.execute(sql`select 1`),
        redis: () => opts.connection.ping(),
        worker: async () => {
          if (!worker.isRunning()) throw new Error("not consuming");
        },
      },
    }),
  );
  app.use(notFoundHandler);
  app.use(problemHandler(opts.logger));

  const reconciler = opts.reconcile && createReconciler({ db: opts.db, logger: opts.logger, metrics, ...opts.reconcile });
  let schedule: Schedule | undefined;

  let closing: Promise<void> | undefined;
  return {
    app,
    worker,
    registry,
    reconciler,
    start() {
      // A failure of the loop reaches the worker's error listener (createWorker), as after a resume.
      void worker.run();
      if (reconciler && opts.reconcile) schedule ??= every(opts.reconcile.intervalMs, (signal) => reconciler.runOnce(signal), opts.logger);
    },
    close: () =>
      (closing ??= (async () => {
        outage.stop();
        await schedule?.stop();
        const bound = opts.closeTimeoutMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), bound)));
        const result = await Promise.race([worker.close(), timedOut]);
        clearTimeout(timer);
        if (result === "timeout") {
          opts.logger.warn({ boundMs: bound }, "active jobs did not finish in time; BullMQ will redeliver them");
          await worker.close(true);
        }
        await consumer.close();
      })()),
  };
}

function keepJobs(v: JobsOptions["removeOnComplete"]): KeepJobs {
  if (typeof v === "object") return v;
  if (typeof v === "number") return { count: v };
  return v ? { count: 0 } : { count: Number.MAX_SAFE_INTEGER };
}
