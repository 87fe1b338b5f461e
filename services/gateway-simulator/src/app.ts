import { createHmac } from "node:crypto";
import express, { type Express } from "express";
import { jsonBody, securityHeaders } from "@inboxerr/http";
import { createLogger, type Logger } from "@inboxerr/logger";
import type { SimContext } from "./context";
import { getDeliveries, getStats } from "./control/simulator.stats";
import { simulateInbound } from "./control/simulator.inbound";
import { resetSimulator } from "./control/simulator.reset";
import { createDispatcher, type DeliveryStats } from "./delivery/dispatcher";
import { createEmitter } from "./delivery/emitter";
import { createLifecycle } from "./delivery/lifecycle";
import { basicAuth } from "./http/auth";
import { errorHandler, notFound } from "./http/errors";
import { requestContext } from "./http/request-context";
import { createMessage } from "./messages/messages.create";
import { getMessage } from "./messages/messages.get";
import { createMessageStore, type SimulatorStats } from "./messages/store";
import { createThrottle } from "./messages/throttle";
import { gatewayHealth, liveness, metricsEndpoint, readiness } from "./ops/health";
import { createSimulatorInstruments, registerBacklogGauge } from "./prometheus";
import { createWebhook } from "./webhooks/webhooks.create";
import { deleteWebhook } from "./webhooks/webhooks.delete";
import { listWebhooks } from "./webhooks/webhooks.list";
import { createWebhookRegistry } from "./webhooks/registry";

export type SimulatorOptions = {
  /** Basic auth credentials of the 3rd-party API (SMSGATE_USERNAME / SMSGATE_PASSWORD). */
  username: string;
  password: string;
  /** Signs every webhook (SMSGATE_WEBHOOK_SIGNING_KEY). */
  signingKey: string;
  /** Accepted → sent, and sent → delivered/failed (SIMULATOR_LATENCY_MS). Default 0. */
  latencyMs?: number;
  /** Share of messages that end failed (SIMULATOR_FAILURE_RATE). Default 0. */
  failureRate?: number;
  /** Sends per second before 429/503; 0 = unlimited (SIMULATOR_RATE_LIMIT). Default 0. */
  rateLimit?: number;
  /** The throttle's clock, in milliseconds; tests freeze it so no token refills mid-test. Default performance.now. */
  throttleClock?: () => number;
  /** Fate = f(seed, message id) (SIMULATOR_SEED). Default "inboxerr". */
  seed?: string;
  /** Device used when a send names none; default derived from the seed (21 chars). */
  deviceId?: string;
  /** UTC offset of the simulated phone's timestamps, in minutes. Default 0 ("+00:00"). */
  utcOffsetMinutes?: number;
  /** Messages remembered for 409 and GET before the oldest are forgotten (~0.4 KB each). Default 500,000. */
  maxStoredMessages?: number;
  webhooks?: {
    /** First retry delay, doubling per attempt. Default 1000. */
    baseBackoffMs?: number;
    /** Default 60,000. */
    maxBackoffMs?: number;
    /** Per attempt. Default 30,000. */
    timeoutMs?: number;
    /** Concurrent webhook requests. Default 64. */
    maxInFlight?: number;
    /** Backlog (queued + retrying + in flight) beyond which events are dropped. Default 250,000. */
    maxPending?: number;
  };
  logger?: Logger;
  /** Process metrics (CPU, heap, event loop) on /metrics; main turns them on. Default false. */
  defaultMetrics?: boolean;
};

export type Simulator = {
  app: Express;
  stats(): SimulatorStats;
  deliveries(): DeliveryStats & { scheduled: number };
  /** Same as POST /simulator/reset. */
  reset(): void;
  /** Stops timers and webhook delivery; the caller closes its HTTP server. */
  close(): Promise<void>;
};

/** Builds the SMS Gate simulator. No side effects: nothing listens until the caller says so. */
export function createSimulatorApp(opts: SimulatorOptions): Simulator {
  const logger = opts.logger ?? createLogger({ service: "gateway-simulator", level: "silent" });
  const seed = opts.seed ?? "inboxerr";
  const metrics = createSimulatorInstruments({ defaultMetrics: opts.defaultMetrics ?? false });
  const store = createMessageStore({ maxMessages: opts.maxStoredMessages ?? 500_000 });
  const registry = createWebhookRegistry();
  const w = opts.webhooks ?? {};
  const dispatcher = createDispatcher({
    signingKey: opts.signingKey,
    logger,
    metrics,
    baseBackoffMs: w.baseBackoffMs ?? 1000,
    maxBackoffMs: w.maxBackoffMs ?? 60_000,
    timeoutMs: w.timeoutMs ?? 30_000,
    maxInFlight: w.maxInFlight ?? 64,
    maxPending: w.maxPending ?? 250_000,
  });
  registerBacklogGauge(metrics, dispatcher.stats);
  const emit = createEmitter(registry, dispatcher);
  const utcOffsetMinutes = opts.utcOffsetMinutes ?? 0;
  const lifecycle = createLifecycle({
    latencyMs: opts.latencyMs ?? 0,
    failureRate: opts.failureRate ?? 0,
    seed,
    utcOffsetMinutes,
    emit,
    store,
    metrics,
  });
  const throttle = createThrottle(opts.rateLimit ?? 0, opts.throttleClock);
  let ready = true;
  const ctx: SimContext = {
    logger,
    metrics,
    store,
    registry,
    dispatcher,
    lifecycle,
    emit,
    throttle,
    rateLimit: opts.rateLimit ?? 0,
    deviceId: opts.deviceId ?? createHmac("sha256", seed).update("device").digest("base64url").slice(0, 21),
    utcOffsetMinutes,
    isReady: () => ready,
  };

  const reset = () => {
    lifecycle.clear();
    dispatcher.clear();
    store.reset();
    throttle.reset();
  };

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(securityHeaders(), requestContext(logger));
  app.get("/healthz", liveness);
  app.get("/readyz", readiness(ctx));
  app.get("/metrics", metricsEndpoint(ctx));
  app.get("/health", gatewayHealth(ctx));

  const api = express.Router();
  api.get("/health", gatewayHealth(ctx));
  api.use(basicAuth(opts.username, opts.password));
  api.use(jsonBody({ limit: "4mb" }));
  api.post(["/message", "/messages"], createMessage(ctx));
  // The vendor's npm client (android-sms-gateway) still reads state from the older path.
  api.get(["/message/:id", "/messages/:id"], getMessage(ctx));
  api.post("/webhooks", createWebhook(ctx));
  api.get("/webhooks", listWebhooks(ctx));
  api.delete("/webhooks/:id", deleteWebhook(ctx));
  api.use(notFound);
  // The cloud serves /3rdparty/v1; a private server puts the same API under /api.
  app.use(["/3rdparty/v1", "/api/3rdparty/v1"], api);

  const control = express.Router();
  control.use(jsonBody({ limit: "1mb" }));
  control.get("/stats", getStats(ctx));
  control.get("/deliveries", getDeliveries(ctx));
  control.post("/reset", resetSimulator(reset));
  control.post("/inbound", simulateInbound(ctx));
  app.use("/simulator", control);

  app.use(notFound);
  app.use(errorHandler(logger));

  return {
    app,
    stats: () => store.stats(),
    deliveries: () => ({ scheduled: lifecycle.scheduled(), ...dispatcher.stats() }),
    reset,
    async close() {
      ready = false;
      lifecycle.clear();
      dispatcher.close();
    },
  };
}
