import { Router } from "express";
import { withTimeout } from "@inboxerr/batch";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { RequestHandler, Response } from "express";
import { localsOf, OBSERVER, routeOf, STARTED, type RequestObserver } from "./request-context";

export type ReadinessCheck = () => Promise<unknown>;

/** A per-service registry with process metrics and the HTTP duration histogram. */
export function createMetricsRegistry(service: string): { registry: Registry; httpMetrics: RequestHandler } {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by route pattern and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // One bound observer per (method, route, status), so no label object or timer closure per
  // request. Bounded, in case clients invent methods.
  const children = new Map<string, (seconds: number) => void>();
  const observe: RequestObserver = (req, res, route, seconds) => {
    const status = String(res.statusCode);
    const key = `${req.method} ${route} ${status}`;
    let child = children.get(key);
    if (!child) {
      child = duration.labels(req.method, route, status).observe;
      if (children.size < 1_000) children.set(key, child);
    }
    child(seconds);
  };
  function onFinish(this: Response): void {
    const started = localsOf(this)[STARTED] ?? performance.now();
    observe(this.req, this, routeOf(this.req), (performance.now() - started) / 1000);
  }
  const httpMetrics: RequestHandler = (_req, res, next) => {
    const locals = localsOf(res);
    if (locals[STARTED] !== undefined) {
      // requestContext ran first: its `finish` listener observes for us.
      locals[OBSERVER] = observe;
    } else {
      locals[STARTED] = performance.now();
      res.on("finish", onFinish);
    }
    next();
  };
  return { registry, httpMetrics };
}

/**
 * /healthz (the process is alive), /readyz (each dependency answers within the timeout;
 * 503 naming what is down), /metrics (Prometheus text).
 */
export function opsRouter(opts: { registry: Registry; checks: Record<string, ReadinessCheck>; timeoutMs?: number }): Router {
  const router = Router();
  const timeoutMs = opts.timeoutMs ?? 2_000;
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const entries = await Promise.all(
      Object.entries(opts.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeoutMs, `the ${name} check`);
          return [name, "ok"] as const;
        } catch (err) {
          return [name, `down: ${(err as Error).message || "unreachable"}`] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, v]) => v === "ok");
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks });
  });
  router.get("/metrics", async (_req, res) => {
    res.type(opts.registry.contentType).send(await opts.registry.metrics());
  });
  return router;
}
