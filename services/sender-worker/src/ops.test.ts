import { afterAll, describe, expect, it } from "vitest";
import { createRedis } from "@inboxerr/contracts";
import { createDb } from "@inboxerr/db";
import { closeServer, listen } from "@inboxerr/http";
import { testEnv, waitFor } from "@inboxerr/testing";
import { Registry } from "prom-client";
import { createLogger } from "@inboxerr/logger";
import { createSenderInstruments, registerSendersGauge } from "./prometheus";
import { createOpsApp } from "./ops";

const { db, pool, close } = createDb(testEnv().databaseUrl, { max: 1 });
const redis = createRedis(testEnv().redisUrl, "producer");
afterAll(async () => {
  redis.disconnect();
  await close();
});

async function serve(app: ReturnType<typeof createOpsApp>) {
  const { server, port } = await listen(app, 0, "127.0.0.1");
  return { get: (path: string) => fetch(`http://127.0.0.1:${port}${path}`), close: () => closeServer(server) };
}

describe("ops endpoints", () => {
  it("answers alive, ready when Postgres and Redis answer, and every sender series on /metrics", async () => {
    const registry = new Registry();
    createSenderInstruments(registry);
    registerSendersGauge(registry, pool, createLogger({ service: "ops-test", level: "silent" }));
    const ops = await serve(createOpsApp({ registry, db, redis }));
    try {
      // The producer connection fails fast instead of queueing: ready once it has connected.
      await waitFor(() => redis.status === "ready");
      const health = await ops.get("/healthz");
      expect(health.status).toBe(200);
      expect(health.headers.get("x-content-type-options")).toBe("nosniff");
      expect(health.headers.get("x-frame-options")).toBe("DENY");
      expect(health.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      const ready = await ops.get("/readyz");
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ checks: { postgres: "ok", redis: "ok" } });
      const text = await (await ops.get("/metrics")).text();
      for (const result of ["accepted", "duplicate", "throttled", "permanent", "transient", "expired"]) {
        expect(text).toContain(`inboxerr_sender_sends_total{result="${result}"} 0`);
      }
      for (const outcome of ["confirmed", "not_confirmed", "unknown"]) {
        expect(text).toContain(`inboxerr_failover_cancels_total{outcome="${outcome}"} 0`);
      }
      // Read from the run's database, which other files fill: every status is there, whatever its count.
      for (const status of ["active", "paused", "offline", "retired"]) expect(text).toMatch(new RegExp(`inboxerr_senders\\{status="${status}"\\} \\d+`));
      for (const name of ["inboxerr_senders_auto_paused_total", "inboxerr_gateway_request_duration_seconds", "inboxerr_sweeper_reenqueued_total", "inboxerr_sweeper_expired_total", "inboxerr_outbox_republished_total"]) {
        expect(text).toContain(`# TYPE ${name}`);
      }
    } finally {
      await ops.close();
    }
  });

  it("is not ready while Redis is down, and says so", async () => {
    const dead = createRedis("redis://127.0.0.1:1", "producer", { retryStrategy: () => null });
    const ops = await serve(createOpsApp({ registry: new Registry(), db, redis: dead }));
    try {
      const ready = await ops.get("/readyz");
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { postgres: "ok", redis: expect.stringMatching(/^down/) } });
    } finally {
      await ops.close();
      dead.disconnect();
    }
  });

  it("is not ready while sending is paused for a Postgres outage (ADR 0011)", async () => {
    let paused = true;
    const ops = await serve(createOpsApp({ registry: new Registry(), db, redis, pausedForDatabase: () => paused }));
    try {
      await waitFor(() => redis.status === "ready");
      const down = await ops.get("/readyz");
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ checks: { worker: expect.stringMatching(/paused until Postgres answers/) } });
      paused = false;
      expect((await ops.get("/readyz")).status).toBe(200);
    } finally {
      await ops.close();
    }
  });
});
