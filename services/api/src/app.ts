import express, { Router, type Express } from "express";
import type { Redis } from "ioredis";
import swaggerUi from "swagger-ui-express";
import { parseSecretsKey, type DbHandle } from "@inboxerr/db";
import { createMetricsRegistry, jsonBody, notFoundHandler, opsRouter, problemHandler, requestContext, securityHeaders } from "@inboxerr/http";
import type { Logger } from "@inboxerr/logger";
import { createOutboxPublisher } from "@inboxerr/outbox";
import { authenticate } from "./auth/authenticate";
import { loadPasswordEstimator } from "./auth/password-strength";
import { accountLoginLimit, ipRateLimit, type RateLimitOptions } from "./auth/rate-limit";
import type { ApiConfig } from "./config";
import type { ApiDeps, ApiQueues } from "./deps";
import { createApiInstruments } from "./prometheus";
import { buildOpenApiDocument, createOpenApiRegistry, type OpenApiDocument } from "./openapi/document";
import { apiRoutes } from "./routes/index";
import { ENQUEUE_TIMEOUT_MS } from "./send/limits";
import { PhoneNormalizer } from "./send/phone-cache";

export type CreateAppOptions = {
  config: ApiConfig;
  db: DbHandle;
  /** The producer connection (`createRedis(url, "producer")`): fails fast when Redis is down. */
  redis: Redis;
  queues: ApiQueues;
  logger: Logger;
  /** Login and register attempts per IP; default 10 a minute each. */
  authRateLimit?: Partial<RateLimitOptions>;
  /** Failed logins per email, across replicas; default 10 per 15 minutes. */
  loginAccountLimit?: Partial<Omit<RateLimitOptions, "keyPrefix">>;
  /** Bound on post-commit Redis work (enqueue, publish); default ENQUEUE_TIMEOUT_MS. */
  redisTimeoutMs?: number;
};

/**
 * JSON bodies up to 5 MB: a 10,000-recipient bulk fits (README "HTTP API"); larger answers 413.
 * Compressed bodies answer 415 and bodies nested deeper than MAX_JSON_DEPTH 400 (jsonBody).
 */
const BODY_LIMIT = "5mb";

/**
 * Builds the api: ops routes, /api/v1, /openapi.json and /docs. No side effects: the caller
 * owns the connections, listening and shutdown (main.ts, or a test).
 */
export function createApp(opts: CreateAppOptions): { app: Express; openapi: OpenApiDocument; close: () => Promise<void> } {
  const { registry, httpMetrics } = createMetricsRegistry("api");
  const metrics = createApiInstruments(registry);
  const redisTimeoutMs = opts.redisTimeoutMs ?? ENQUEUE_TIMEOUT_MS;
  const outbox = createOutboxPublisher({
    pool: opts.db.pool,
    queues: opts.queues.outbox,
    logger: opts.logger,
    onFailure: (n) => metrics.outboxPublishFailures.inc(n),
    timeoutMs: redisTimeoutMs,
  });
  const deps: ApiDeps = {
    config: opts.config,
    db: opts.db.db,
    redis: opts.redis,
    queues: opts.queues,
    outbox,
    logger: opts.logger,
    metrics,
    phones: new PhoneNormalizer(opts.config.DEFAULT_PHONE_REGION),
    secrets: opts.config.SECRETS_KEY ? parseSecretsKey(opts.config.SECRETS_KEY) : null,
    redisTimeoutMs,
  };
  const limit = { points: 10, durationSeconds: 60, keyPrefix: `${opts.config.QUEUE_PREFIX}:ratelimit`, ...opts.authRateLimit };
  const accountLimit = { points: 10, durationSeconds: 15 * 60, ...opts.loginAccountLimit, keyPrefix: limit.keyPrefix };
  // The password estimator builds its dictionaries now, at start-up, not in the first registration.
  loadPasswordEstimator();

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", opts.config.TRUST_PROXY);
  app.use(securityHeaders(), requestContext(opts.logger), httpMetrics);
  app.use(
    opsRouter({
      registry,
      checks: { postgres: () => opts.db.pool.query("select 1"), redis: () => opts.redis.ping() },
    }),
  );
  app.use(jsonBody({ limit: BODY_LIMIT }));

  const api = Router();
  const openapiRegistry = createOpenApiRegistry();
  const auth = authenticate(deps);
  const limiters = {
    register: ipRateLimit(opts.redis, "register", limit),
    login: ipRateLimit(opts.redis, "login", limit),
    loginAccount: accountLoginLimit(opts.redis, accountLimit),
  };
  for (const route of apiRoutes(deps, limiters)) route.mount(api, openapiRegistry, auth);
  app.use(api);

  const openapi = buildOpenApiDocument(openapiRegistry);
  app.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  // No validator badge: it is an image from validator.swagger.io, which the CSP (img-src 'self') blocks.
  const swaggerOptions = { url: "/openapi.json", persistAuthorization: true, validatorUrl: null };
  app.use("/docs", swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions }));

  app.use(notFoundHandler);
  app.use(problemHandler(opts.logger));
  // The connections belong to the caller; what is ours is the events still being published.
  return { app, openapi, close: () => outbox.close() };
}
