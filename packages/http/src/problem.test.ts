import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Server } from "node:http";
import { createLogger } from "@inboxerr/logger";
import { AppError } from "./errors";
import { notFoundHandler, problemHandler } from "./problem";
import { requestContext } from "./request-context";
import { createMetricsRegistry, opsRouter } from "./ops";
import { closeServer, listen } from "./server";

const logger = createLogger({ service: "test", level: "silent" });
let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  const { registry, httpMetrics } = createMetricsRegistry("test");
  app.use(requestContext(logger), httpMetrics);
  app.use(opsRouter({ registry, checks: { ok: async () => 1, broken: async () => { throw new Error("refused"); } } }));
  app.use(express.json({ limit: "1kb" }));
  app.post("/echo", (req, res) => {
    res.json(z.object({ n: z.number() }).parse(req.body));
  });
  app.get("/conflict", () => {
    throw new AppError("conflict", "already cancelled");
  });
  app.get("/limited", () => {
    throw new AppError("rate_limited", "slow down", { retryAfterSeconds: 7 });
  });
  app.get("/dbdown", () => {
    throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
  });
  // Shaped like drizzle's DrizzleQueryError: SQL and parameters in the message, pg's error as cause.
  app.get("/pg/:code", (req) => {
    const cause = Object.assign(new Error("pg says no"), { code: req.params.code });
    throw Object.assign(new Error("Failed query: insert into t values ($1)\nparams: s3cret-param"), {
      query: "insert into t values ($1)",
      params: ["s3cret-param"],
      cause,
    });
  });
  app.get("/overflow", () => {
    throw new RangeError("Maximum call stack size exceeded");
  });
  app.get("/http-error/:status", (req) => {
    throw Object.assign(new Error("what the framework said"), { status: Number(req.params.status), expose: true });
  });
  app.get("/boom", () => {
    throw new Error("secret internals");
  });
  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  const l = await listen(app, 0, "127.0.0.1");
  server = l.server;
  base = `http://127.0.0.1:${l.port}`;
});
afterAll(() => closeServer(server));

async function problem(path: string, init?: RequestInit) {
  const res = await fetch(base + path, init);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  return { res, body: (await res.json()) as Record<string, any> };
}
const post = (body: string) => ({ method: "POST", body, headers: { "content-type": "application/json" } });

describe("problem+json edge", () => {
  it("answers malformed JSON with 400 malformed_json", async () => {
    const { res, body } = await problem("/echo", post("{nope"));
    expect(res.status).toBe(400);
    expect(body).toMatchObject({ status: 400, code: "malformed_json", title: "Malformed JSON body" });
    expect(body.type).toMatch(/^https:\/\//);
  });

  it("answers an oversized body with 413", async () => {
    const { res, body } = await problem("/echo", post(JSON.stringify({ n: 1, pad: "x".repeat(2_000) })));
    expect(res.status).toBe(413);
    expect(body.code).toBe("payload_too_large");
  });

  it("maps zod failures to 400 with field errors", async () => {
    const { res, body } = await problem("/echo", post(JSON.stringify({ n: "one" })));
    expect(res.status).toBe(400);
    expect(body.errors).toEqual([expect.objectContaining({ path: "n" })]);
  });

  it("maps AppError codes to their status and Retry-After", async () => {
    expect((await problem("/conflict")).res.status).toBe(409);
    const limited = await problem("/limited");
    expect(limited.res.status).toBe(429);
    expect(limited.res.headers.get("retry-after")).toBe("7");
  });

  it("answers a database outage with 503, and an unknown error with a 500 that leaks nothing", async () => {
    expect((await problem("/dbdown")).res.status).toBe(503);
    const boom = await problem("/boom");
    expect(boom.res.status).toBe(500);
    expect(JSON.stringify(boom.body)).not.toContain("secret internals");
  });

  it.for(["53300", "57014", "40P01", "55P03", "08P01", "53200"])(
    "answers a busy or unreachable database (%s) with 503 and Retry-After",
    async (code) => {
      const { res, body } = await problem(`/pg/${code}`);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(body.code).toBe("service_unavailable");
    },
  );

  it("answers a value Postgres refuses (SQLSTATE class 22) with 400, echoing neither SQL nor parameters", async () => {
    for (const code of ["22021", "22008", "22P05"]) {
      const { res, body } = await problem(`/pg/${code}`);
      expect(res.status).toBe(400);
      expect(body).toMatchObject({ code: "validation_failed", detail: "The request contains a value that cannot be stored" });
      expect(JSON.stringify(body)).not.toMatch(/s3cret-param|insert into|pg says no/);
    }
  });

  it("answers a stack overflow with 400 and no stack, and framework 4xx errors in our vocabulary", async () => {
    const overflow = await problem("/overflow");
    expect(overflow.res.status).toBe(400);
    expect(JSON.stringify(overflow.body)).not.toMatch(/Maximum call stack|at /);
    const bad = await problem("/http-error/400");
    expect(bad.body).toMatchObject({ status: 400, code: "bad_request", detail: "what the framework said" });
    expect((await problem("/http-error/405")).body.code).toBe("method_not_allowed");
    expect((await problem("/http-error/418")).body).toMatchObject({ status: 400, code: "bad_request" });
  });

  it("answers unknown routes with 404 and echoes the request id", async () => {
    const { res, body } = await problem("/nowhere", { headers: { "x-request-id": "abc-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(body.instance).toBe("urn:request:abc-123");
  });
});

describe("ops routes", () => {
  it("reports readiness per dependency and 503 when one is down", async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "not ready", checks: { ok: "ok", broken: "down: refused" } });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("serves Prometheus text with the request histogram by route", async () => {
    await fetch(`${base}/conflict`);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('http_request_duration_seconds_count{service="test",method="GET",route="/conflict",status="409"}');
  });
});
