import express from "express";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Server } from "node:http";
import { createLogger } from "@inboxerr/logger";
import { createMetricsRegistry } from "./ops";
import { problemHandler } from "./problem";
import { nextRequestId, requestContext } from "./request-context";
import { closeServer, listen } from "./server";

const lines: Record<string, unknown>[] = [];
const destination = new Writable({
  write(chunk, _enc, cb) {
    lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
    cb();
  },
});
const logger = createLogger({ service: "test", level: "info", destination });

const servers: Server[] = [];
async function serve(app: express.Express): Promise<string> {
  const { server, port } = await listen(app, 0, "127.0.0.1");
  servers.push(server);
  return `http://127.0.0.1:${port}`;
}
afterAll(() => Promise.all(servers.map(closeServer)));

const metricsOf = async (base: string) => (await fetch(`${base}/metrics`)).text();

describe("request ids", () => {
  it("are unique and well-formed", () => {
    const ids = new Set(Array.from({ length: 10_000 }, nextRequestId));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });
});

describe("requestContext with httpMetrics", () => {
  let base: string;
  let withoutContext: string;

  beforeAll(async () => {
    const app = express();
    const { registry, httpMetrics } = createMetricsRegistry("test");
    app.use(requestContext(logger), httpMetrics);
    app.get("/things/:id", (req, res) => {
      logger.warn("inside");
      // Ours only: node's http server adds a (native, bound) one of its own.
      res.json({ listeners: res.listeners("finish").filter((f) => !String(f).includes("[native code]")).length });
    });
    app.get("/metrics", async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
    base = await serve(app);

    // httpMetrics alone still observes (its own listener).
    const bare = express();
    const alone = createMetricsRegistry("alone");
    bare.use(alone.httpMetrics);
    bare.get("/x", (_req, res) => void res.send("ok"));
    bare.get("/metrics", async (_req, res) => {
      res.type(alone.registry.contentType).send(await alone.registry.metrics());
    });
    withoutContext = await serve(bare);
  });

  it("echoes a minted id, carries it into log lines and the summary line, with one finish listener", async () => {
    lines.length = 0;
    const res = await fetch(`${base}/things/42`);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(await res.json()).toEqual({ listeners: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.find((l) => l.msg === "inside")).toMatchObject({ requestId: id });
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ requestId: id, method: "GET", route: "/things/:id", status: 200 });
    expect(JSON.stringify(lines)).not.toContain("/things/42");
  });

  it("adopts a well-formed incoming id and replaces a malformed one", async () => {
    expect((await fetch(`${base}/things/1`, { headers: { "x-request-id": "abc-123" } })).headers.get("x-request-id")).toBe("abc-123");
    const minted = (await fetch(`${base}/things/1`, { headers: { "x-request-id": "no spaces" } })).headers.get("x-request-id");
    expect(minted).not.toBe("no spaces");
    expect(minted).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });

  it("observes the duration histogram by route pattern, with or without requestContext", async () => {
    await fetch(`${base}/things/7`);
    await fetch(`${base}/nowhere`);
    const text = await metricsOf(base);
    expect(text).toMatch(/http_request_duration_seconds_count\{service="test",method="GET",route="\/things\/:id",status="200"\} [1-9]/);
    expect(text).toContain('http_request_duration_seconds_count{service="test",method="GET",route="unmatched",status="404"} 1');

    await fetch(`${withoutContext}/x`);
    expect(await metricsOf(withoutContext)).toContain('http_request_duration_seconds_count{service="alone",method="GET",route="/x",status="200"} 1');
  });

  it("with logContext off, still echoes the id and names it in the summary and error lines", async () => {
    const app = express();
    app.use(requestContext(logger, { logContext: false }));
    app.get("/boom", () => {
      logger.warn("inside");
      throw new Error("kaput");
    });
    app.use(problemHandler(logger));
    const url = await serve(app);
    lines.length = 0;
    const res = await fetch(`${url}/boom`, { headers: { "x-request-id": "ctx-off-1" } });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe("ctx-off-1");
    await new Promise((r) => setTimeout(r, 20));
    // No async context: a line logged inside the handler carries no id of its own...
    const inside = lines.find((l) => l.msg === "inside");
    expect(inside).toBeDefined();
    expect(inside).not.toHaveProperty("requestId");
    // ...but the error line and the summary line name it explicitly.
    expect(lines.find((l) => l.msg === "unhandled error")).toMatchObject({ requestId: "ctx-off-1" });
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ requestId: "ctx-off-1", status: 500 });
  });
});
