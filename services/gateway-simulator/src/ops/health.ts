import type { RequestHandler } from "express";
import type { SimContext } from "../context";

/** `/healthz`: the process answers. */
export const liveness: RequestHandler = (_req, res) => {
  res.json({ status: "ok" });
};

/** `/readyz`: no dependencies to check; 503 once shutdown began so traffic drains away. */
export function readiness(ctx: SimContext): RequestHandler {
  return (_req, res) => {
    const ready = ctx.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "shutting_down" });
  };
}

/** SMS Gate's own `GET /health` shape (`smsgateway.HealthResponse`). */
export function gatewayHealth(ctx: SimContext): RequestHandler {
  return (_req, res) => {
    const d = ctx.dispatcher.stats();
    const backlog = d.queued + d.inFlight + d.retrying;
    const status = ctx.isReady() ? "pass" : "fail";
    res.status(status === "pass" ? 200 : 503).json({
      status,
      version: "simulator",
      checks: {
        "webhooks:backlog": {
          description: "Webhook events waiting for delivery",
          observedUnit: "events",
          observedValue: backlog,
          status: "pass",
        },
      },
    });
  };
}

export function metricsEndpoint(ctx: SimContext): RequestHandler {
  return async (_req, res) => {
    res.setHeader("Content-Type", ctx.metrics.registry.contentType);
    res.send(await ctx.metrics.registry.metrics());
  };
}
