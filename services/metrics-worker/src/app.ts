import express, { type Express } from "express";
import { sql } from "drizzle-orm";
import type { JobsOptions, KeepJobs, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { waitAtMost } from "@inboxerr/batch";
import { createOutageGuard, createQueue, createWorker, JOB_DEFAULTS, QUEUE_NAMES, type OutboxJobData, type QueueName } from "@inboxerr/contracts";
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
  /** Jobs in flight; their events are what a batch can fold (default 8: up to 200 events a job, ADR 0024). */
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
  /** One per queue it consumes: `metrics-events`, then the legacy `message-events`. */
  workers: readonly Worker[];
  registry: Registry;
  /** The reconcile pass (also run on its own schedule once started). */
  reconciler: Reconciler | undefined;
  /** Starts consuming its queues and the reconcile schedule. */
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
  const ctx = { connection: opts.connection, prefix: opts.prefix };
  const consume = (name: QueueName) => {
    // Jobs carry these from publishEvents; the worker repeats them for jobs added any other way.
    const retention = JOB_DEFAULTS[name];
    // A Postgres outage pauses consuming as a whole: events wait in the queue, attempts unspent.
    const outage = createOutageGuard({
      isOutage: isDatabaseUnreachable,
      probe: () => opts.db.execute(sql`select 1`),
      ...(opts.dbProbeIntervalMs ? { probeIntervalMs: opts.dbProbeIntervalMs } : {}),
      onPause: (err) => opts.logger.warn({ err, queue: name }, "postgres unreachable; pausing the queue until it answers"),
      onResume: (downMs) => opts.logger.info({ downMs, queue: name }, "postgres answers again; resuming the queue"),
    });
    const worker = createWorker(name, outage.wrap(consumer.process), ctx, {
      concurrency: opts.concurrency ?? 8,
      autorun: false,
      removeOnComplete: keepJobs(retention.removeOnComplete),
      removeOnFail: keepJobs(retention.removeOnFail),
    });
    outage.attach(worker);
    worker.on("error", (err) => opts.logger.error({ err, queue: name }, "event worker error"));
    worker.on("failed", (job, err) =>
      opts.logger.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, "event job failed"),
    );
    return { worker, outage };
  };
  // Its own queue, and the single queue every event went to before each consumer had one:
  // what older publishers left there (or still write, mid-upgrade) goes through the same
  // processor, and the applied-events ledger counts each event once whichever queue brings it.
  const own = consume(QUEUE_NAMES.metricsEvents);
  const legacy = consume(QUEUE_NAMES.legacyMessageEvents);
  const workers = [own, legacy];
  const legacyDrained = watchLegacyDrained(legacy.worker, createQueue<OutboxJobData>(QUEUE_NAMES.legacyMessageEvents, ctx), opts.logger);

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
          if (!workers.every((w) => w.worker.isRunning())) throw new Error("not consuming");
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
    workers: workers.map((w) => w.worker),
    registry,
    reconciler,
    start() {
      // A failure of the loop reaches the worker's error listener (createWorker), as after a resume.
      for (const w of workers) void w.worker.run();
      if (reconciler && opts.reconcile) schedule ??= every(opts.reconcile.intervalMs, (signal) => reconciler.runOnce(signal), opts.logger);
    },
    close: () =>
      (closing ??= (async () => {
        for (const w of workers) w.outage.stop();
        await schedule?.stop();
        const bound = opts.closeTimeoutMs ?? 10_000;
        if (!(await waitAtMost(Promise.all(workers.map((w) => w.worker.close())), bound))) {
          opts.logger.warn({ boundMs: bound }, "active jobs did not finish in time; BullMQ will redeliver them");
          await Promise.all(workers.map((w) => w.worker.close(true)));
        }
        await legacyDrained.close();
        await consumer.close();
      })()),
  };
}

/**
 * Logs "legacy queue drained" once nothing is left to run there. BullMQ's `drained` only says
 * one fetch found nothing waiting: delayed (a retry's backoff), active or paused jobs may
 * remain, and an operator deleting the queue then would lose them. So each `drained`, and each
 * job finished after one, counts what is left; the log comes once all of it is 0.
 */
function watchLegacyDrained(worker: Worker, queue: Queue<OutboxJobData>, logger: Logger) {
  let seen = false;
  let done = false;
  let closed = false;
  const check = () => {
    if (!seen || done || closed) return;
    queue.getJobCounts("waiting", "delayed", "active", "prioritized", "paused").then(
      (counts) => {
        if (done || closed || Object.values(counts).some((n) => n > 0)) return;
        done = true;
        logger.info({ queue: queue.name }, "legacy queue drained; its consumer can go once no older publisher runs (ADR 0013)");
      },
      (err: unknown) => logger.warn({ err, queue: queue.name }, "could not count the legacy queue's jobs"),
    );
  };
  worker.on("drained", () => {
    seen = true;
    check();
  });
  worker.on("completed", check);
  worker.on("failed", check);
  return {
    async close() {
      closed = true;
      await queue.close();
    },
  };
}

function keepJobs(v: JobsOptions["removeOnComplete"]): KeepJobs {
  if (typeof v === "object") return v;
  if (typeof v === "number") return { count: v };
  return v ? { count: 0 } : { count: Number.MAX_SAFE_INTEGER };
}
