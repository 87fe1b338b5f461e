import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createRedis } from "@inboxerr/contracts";
import { createDb, type DbHandle } from "@inboxerr/db";
import { closeServer, listen } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { testEnv, uniqueSuffix } from "@inboxerr/testing";
import { createMetricsWorker } from "./app";

const env = testEnv();
let database: DbHandle;
let connection: Redis;
beforeAll(() => {
  database = createDb(env.databaseUrl, { max: 1 });
  connection = createRedis(env.redisUrl, "worker");
});
afterAll(async () => {
  await connection.quit();
  await database.close();
});

describe("metrics-worker ops server", () => {
  it("sends security headers on /healthz and unknown routes", async () => {
    const logger = createLogger({ service: "metrics-test", level: "silent" });
    // Not started: only its HTTP app is under test.
    const mw = createMetricsWorker({ db: database.db, connection, prefix: `${env.queuePrefix}:${uniqueSuffix()}`, logger });
    // The worker connects in the background even unstarted; closing it mid-connect rejected
    // "Connection is closed" with nobody listening.
    await Promise.all(mw.workers.map((w) => w.waitUntilReady()));
    const { server, port } = await listen(mw.app, 0, "127.0.0.1");
    try {
      for (const path of ["/healthz", "/nowhere"]) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        expect(res.headers.get("x-content-type-options")).toBe("nosniff");
        expect(res.headers.get("x-frame-options")).toBe("DENY");
        expect(res.headers.get("referrer-policy")).toBe("no-referrer");
        expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      }
    } finally {
      await closeServer(server);
      await mw.close();
    }
  });
});
