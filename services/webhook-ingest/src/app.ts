import express, { type Express } from "express";
import type { Registry } from "prom-client";
import type { Queue } from "bullmq";
import type { OutboxQueues, SmsSendJob } from "@inboxerr/contracts";
import type { DbHandle, SecretsKey } from "@inboxerr/db";
import { createMetricsRegistry, notFoundHandler, opsRouter, problemHandler, requestContext, securityHeaders } from "@inboxerr/http";
import type { Logger } from "@inboxerr/logger";
import { createOutboxPublisher } from "@inboxerr/outbox";
import { createIngestInstruments } from "./prometheus";
import { createWebhookProcessor, type BatchOptions } from "./webhooks/processor";
import { createAccountKeys } from "./webhooks/account-keys";
import { createReattemptEnqueuer } from "./webhooks/reattempts";
import { smsGateWebhookRouter } from "./webhooks/route";

export type WebhookIngestOptions = {
  /** createDb()'s handle; webhook-ingest runs its own named statements on the pool. */
  database: DbHandle;
  /** The outbox queues, on a producer connection (fail-fast: see createRedis "producer"). */
  events: OutboxQueues;
  /** The `sms-send` queue, on the same producer connection: new attempts' jobs (ADR 0019). */
  sends: Queue<SmsSendJob>;
  /** SMSGATE_WEBHOOK_SIGNING_KEY: the `default` account's, at POST /webhooks/sms-gate. */
  signingKey: string;
  /** SEND_MAX_ATTEMPTS (default 3). */
  maxAttempts?: number;
  /** SECRETS_KEY, parsed: opens gateway accounts' signing keys (null: only `default` verifies). */
  secrets?: SecretsKey | null;
  /** How long account keys are cached, and how often a mismatch may re-read one (tests shorten these). */
  accountKeyCache?: { ttlMs?: number; recheckMs?: number };
  /** Reads national-format senders of received SMS. */
  defaultRegion: string;
  logger: Logger;
  /** How far X-Timestamp may be from our clock, either way (default 300 s). */
  signatureToleranceSeconds?: number;
  batch?: BatchOptions;
};

export type WebhookIngest = {
  app: Express;
  registry: Registry;
  /** Finishes in-flight webhooks and their outbox publishes; call after the server closed. */
  close: () => Promise<void>;
};

/** Builds the webhook-ingest HTTP app. No side effects: main.ts listens and owns shutdown. */
export function createWebhookIngest(opts: WebhookIngestOptions): WebhookIngest {
  const { registry, httpMetrics } = createMetricsRegistry("webhook-ingest");
  const metrics = createIngestInstruments(registry);
  // Publishes gather for 50 ms (longer while the previous one is still out), so a busy ingest
  // pays one addBulk per queue and one UPDATE per fold rather than per webhook batch: far below
  // the 5 s the relay leaves a fresh event to this publish.
  const publisher = createOutboxPublisher({
    pool: opts.database.pool,
    queues: opts.events,
    logger: opts.logger,
    onFailure: metrics.publishFailed,
    maxConcurrent: 1,
    lingerMs: 50,
  });
  const processor = createWebhookProcessor({
    pool: opts.database.pool,
    publisher,
    reattempts: createReattemptEnqueuer({ queue: opts.sends, logger: opts.logger, metrics }),
    metrics,
    logger: opts.logger,
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    ...(opts.batch ? { batch: opts.batch } : {}),
  });

  const app = express();
  app.disable("x-powered-by");
  // Answers to the phone's POSTs are never cached or revalidated: hashing each body for an
  // ETag was ~1% of the service's CPU under load.
  app.set("etag", false);
  // No per-request log context: concurrent webhooks share one statement and one publish, so
  // their log lines belong to no single request, and on Node 20 the context's promise hooks
  // were 2 - 3% of the service's CPU (docs/benchmarks.md). Request ids still reach the summary
  // line, the problem answers and the lines logged about a refused request.
  app.use(securityHeaders(), requestContext(opts.logger, { logContext: false }), httpMetrics);
  // The webhook route first: it is the hot path (the phone waits), and express tries the
  // stack in order. Errors still reach problemHandler, and requests still get their log line.
  app.use(
    smsGateWebhookRouter({
      processor,
      signingKey: opts.signingKey,
      accountKeys: createAccountKeys({
        pool: opts.database.pool,
        secrets: opts.secrets ?? null,
        defaultKey: opts.signingKey,
        ...opts.accountKeyCache,
      }),
      defaultRegion: opts.defaultRegion,
      toleranceSeconds: opts.signatureToleranceSeconds ?? 300,
      metrics,
      logger: opts.logger,
    }),
  );
  // Readiness is Postgres alone: with Redis down webhooks are still applied, and the
  // outbox relay publishes their events once it is back.
  app.use(opsRouter({ registry, checks: { postgres: () => opts.database.pool.query("select 1") } }));
  app.use(notFoundHandler);
  app.use(problemHandler(opts.logger));
  return { app, registry, close: () => processor.close() };
}
