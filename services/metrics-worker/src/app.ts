import express, { type Express } from "express";
import { sql } from "drizzle-orm";
import type { JobsOptions, KeepJobs, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { createWorker, JOB_DEFAULTS, QUEUE_NAMES } from "@inboxerr/contracts";
import type { Db } from "@inboxerr/db";
import { createMetricsRegistry, notFoundHandler, opsRouter, problemHandler, requestContext, securityHeaders } from "@inboxerr/http";
import type { Logger } from "@inboxerr/logger";
import { createEventConsumer, type AggregateBatchOptions } from "./aggregate/consumer";
import { createAggregateMetrics } from "./aggregate/metrics";

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
};

export type MetricsWorker = {
  /** Health, readiness and Prometheus metrics. */
  app: Express;
  worker: Worker;
  registry: Registry;
  /** Starts consuming `message-events`. */
  start: () => void;
  /** Stops fetching, lets active jobs' batch commit (bounded), and releases the worker. */
  close: () => Promise<void>;
};

/** Builds the metrics-worker (consumer and ops app) without starting it: main.ts does. */
export function createMetricsWorker(opts: MetricsWorkerOptions): MetricsWorker {
  const { registry, httpMetrics } = createMetricsRegistry("metrics-worker");
  const consumer = createEventConsumer({
    db: opts.db,
    logger: opts.logger,
    metrics: createAggregateMetrics(registry),
    ...(opts.batch ? { batch: opts.batch } : {}),
  });
  // Jobs carry these from publishEvents; the worker repeats them for jobs added any other way.
  const retention = JOB_DEFAULTS[QUEUE_NAMES.messageEvents];
  const worker = createWorker(QUEUE_NAMES.messageEvents, consumer.process, { connection: opts.connection, prefix: opts.prefix }, {
    concurrency: opts.concurrency ?? 50,
    autorun: false,
    removeOnComplete: keepJobs(retention.removeOnComplete),
    removeOnFail: keepJobs(retention.removeOnFail),
  });
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

  let closing: Promise<void> | undefined;
  return {
    app,
    worker,
    registry,
    start() {
      worker.run().catch((err: unknown) => opts.logger.error({ err }, "message-events worker stopped"));
    },
    close: () =>
      (closing ??= (async () => {
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
