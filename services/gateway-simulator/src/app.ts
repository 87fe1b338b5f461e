import express, { type Express } from "express";
import { jsonBody, securityHeaders } from "@inboxerr/http";
import { createLogger, type Logger } from "@inboxerr/logger";
import type { SimContext } from "./context";
import { createAccount, setDeviceOnline, setSimLimit } from "./control/simulator.fleet";
import { getDeliveries, getStats, scheduledOf } from "./control/simulator.stats";
import { simulateInbound } from "./control/simulator.inbound";
import { resetSimulator } from "./control/simulator.reset";
import { createDispatcher, type DeliveryStats } from "./delivery/dispatcher";
import { createFleet, type AccountSpec } from "./fleet/accounts";
import { toDeviceDto, type DeviceDto } from "./fleet/devices";
import { listDevices } from "./fleet/devices.list";
import { startPinger } from "./fleet/pinger";
import { basicAuth } from "./http/auth";
import { errorHandler, notFound } from "./http/errors";
import { requestContext } from "./http/request-context";
import { cancelMessage } from "./messages/messages.cancel";
import { createMessage } from "./messages/messages.create";
import { getMessage } from "./messages/messages.get";
import type { SimulatorStats } from "./messages/store";
import { gatewayHealth, liveness, metricsEndpoint, readiness } from "./ops/health";
import { createSimulatorInstruments, registerBacklogGauge } from "./prometheus";
import { createWebhook } from "./webhooks/webhooks.create";
import { deleteWebhook } from "./webhooks/webhooks.delete";
import { listWebhooks } from "./webhooks/webhooks.list";

export type SimulatorOptions = {
  /** Basic auth credentials of the primary account (SMSGATE_USERNAME / SMSGATE_PASSWORD). */
  username: string;
  password: string;
  /** Signs the primary account's webhooks, and other accounts' without a key of their own (SMSGATE_WEBHOOK_SIGNING_KEY). */
  signingKey: string;
  /** More accounts in the same process (SIMULATOR_ACCOUNTS). Default none. */
  accounts?: AccountSpec[];
  /** Phones per account (SIMULATOR_DEVICES; the env default is 2). Default 1, so a part-1 test sees one phone. */
  devices?: number;
  /** SIMs per phone, 1..3 (SIMULATOR_SIMS_PER_DEVICE). Default 1. */
  simsPerDevice?: number;
  /** `system:ping` per online device every this many ms (SIMULATOR_PING_SECONDS × 1000); 0 = off. Default 0. */
  pingIntervalMs?: number;
  /** Wall clock (epoch ms) for carrier days and `lastSeen`; tests move it to the next day. Default Date.now. */
  clock?: () => number;
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
  /** The primary account's first device id (SMSGATE_DEVICE_ID); default derived from the seed (21 chars). */
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
  /** The primary account's stats, or the named account's. */
  stats(account?: string): SimulatorStats;
  deliveries(): DeliveryStats & { scheduled: number };
  /** The primary account's phones (or the named account's), as GET /devices answers. */
  devices(account?: string): DeviceDto[];
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
  const utcOffsetMinutes = opts.utcOffsetMinutes ?? 0;
  const clock = opts.clock ?? Date.now;
  const fleet = createFleet({
    primary: { username: opts.username, password: opts.password, signingKey: opts.signingKey },
    accounts: opts.accounts ?? [],
    devicesPerAccount: opts.devices ?? 1,
    simsPerDevice: opts.simsPerDevice ?? 1,
    ...(opts.deviceId ? { deviceId: opts.deviceId } : {}),
    seed,
    latencyMs: opts.latencyMs ?? 0,
    failureRate: opts.failureRate ?? 0,
    rateLimit: opts.rateLimit ?? 0,
    maxStoredMessages: opts.maxStoredMessages ?? 500_000,
    utcOffsetMinutes,
    ...(opts.throttleClock ? { throttleClock: opts.throttleClock } : {}),
    clock,
    dispatcher,
    metrics,
    logger,
  });
  const stopPinger = startPinger(fleet, opts.pingIntervalMs ?? 0);
  let ready = true;
  const ctx: SimContext = {
    logger,
    metrics,
    dispatcher,
    fleet,
    rateLimit: opts.rateLimit ?? 0,
    utcOffsetMinutes,
    clock,
    isReady: () => ready,
  };

  const reset = () => {
    fleet.reset();
    dispatcher.clear();
  };

  const accountNamed = (username?: string) => {
    const found = username === undefined ? fleet.primary : fleet.get(username);
    if (!found) throw new Error(`no simulator account ${username}`);
    return found;
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
  api.use(basicAuth(fleet));
  api.use(jsonBody({ limit: "4mb" }));
  api.post(["/message", "/messages"], createMessage(ctx));
  // The vendor's npm client (android-sms-gateway) still reads state from the older path.
  api.get(["/message/:id", "/messages/:id"], getMessage());
  api.delete(["/message/:id", "/messages/:id"], cancelMessage());
  api.get("/devices", listDevices(ctx));
  api.post("/webhooks", createWebhook(ctx));
  api.get("/webhooks", listWebhooks());
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
  control.post("/devices/:id/offline", setDeviceOnline(ctx, false));
  control.post("/devices/:id/online", setDeviceOnline(ctx, true));
  control.post("/sims/limit", setSimLimit(ctx));
  control.post("/accounts", createAccount(ctx));
  app.use("/simulator", control);

  app.use(notFound);
  app.use(errorHandler(logger));

  return {
    app,
    stats: (account?: string) => accountNamed(account).store.stats(),
    devices: (account?: string) => accountNamed(account).devices.map((d) => toDeviceDto(d, clock())),
    deliveries: () => ({ scheduled: scheduledOf(ctx), ...dispatcher.stats() }),
    reset,
    async close() {
      ready = false;
      stopPinger();
      for (const account of fleet.all()) account.lifecycle.clear();
      dispatcher.close();
    },
  };
}
