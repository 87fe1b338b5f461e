/**
 * Issue 17: a customer's server that answers 500 for two minutes, then recovers, gets every
 * event, each under its first webhook-id, on a schedule compressed by config (WEBHOOK_RETRY_SCHEDULE
 * here 0, 10, 20, 30, 40, 60, 60 s: the sixth attempt falls past the outage even with -20% jitter
 * on every step). Real Postgres, Redis and HTTP; its own file, so its three minutes of waiting
 * overlap other files.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "@inboxerr/contracts";
import { createDb, parseSecretsKey, webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import type { WebhookEvent } from "@inboxerr/webhooks";
import { createWebhookDispatcher, type WebhookDispatcher } from "./app";
import { createEndpoint, startReceiver, type Receiver } from "./testing/receiver";

const OUTAGE_MS = 120_000;
const env = testEnv();
const prefix = `${env.queuePrefix}:wdo-${uniqueSuffix()}`;
const secretsKey = parseSecretsKey(randomBytes(32).toString("base64"));
let priv: { url: string; drop: () => Promise<void> };
let handle: DbHandle;
let connection: Redis;
let dispatcher: WebhookDispatcher;
let rx: Receiver | undefined;

beforeAll(async () => {
  priv = await createPrivateDatabase();
  handle = createDb(priv.url, { max: 4 });
  connection = createRedis(env.redisUrl, "worker");
  dispatcher = createWebhookDispatcher({
    db: handle.db,
    connection,
    prefix,
    logger: createLogger({ service: "webhook-outage-test", level: "silent" }),
    delivery: {
      timeoutMs: 5_000,
      schedule: [0, 10, 20, 30, 40, 60, 60],
      concurrency: 50,
      endpointConcurrency: 10,
      disableAfterDays: 5,
      policy: { allowInsecure: true, allowPrivate: true },
      secretsKey,
    },
  });
  dispatcher.start();
});

afterAll(async () => {
  await dispatcher?.close();
  await rx?.close();
  await connection?.quit();
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await handle?.close();
  await priv?.drop();
});

describe("a customer's two-minute outage", () => {
  it("delivers every event once the receiver recovers, under the id of its first attempt", async () => {
    const user = await createTestUser(handle.db);
    let recoverAt = Number.POSITIVE_INFINITY;
    rx = await startReceiver(() => {
      // The outage runs two minutes from the first request it refuses.
      if (recoverAt === Number.POSITIVE_INFINITY) recoverAt = Date.now() + OUTAGE_MS;
      return Date.now() < recoverAt ? 500 : 200;
    });
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    const events: WebhookEvent[] = Array.from({ length: 100 }, (_, n) => ({
      id: randomUUID(),
      type: "message.delivered",
      userId: user.id,
      occurredAt: new Date(),
      data: { n },
    }));
    await dispatcher.fanOut(events);

    await waitFor(() => rx!.deliveredIds().size >= events.length, { timeoutMs: 260_000, intervalMs: 1_000, message: "every event after the outage" });
    expect(Math.min(...rx.received.filter((r) => r.answered === 200).map((r) => r.at))).toBeGreaterThanOrEqual(recoverAt);

    const rows = await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id));
    expect(rows).toHaveLength(events.length);
    for (const d of rows) {
      expect(d.status).toBe("succeeded");
      // Refused through the outage on every earlier try, then accepted once.
      const tries = rx.received.filter((r) => r.id === d.id);
      expect(tries.length).toBe(d.attempts);
      expect(tries.slice(0, -1).every((t) => t.answered === 500)).toBe(true);
      expect(tries.at(-1)!.answered).toBe(200);
      expect(d.attempts).toBeGreaterThan(3);
    }
    const logged = await handle.db.select().from(webhookDeliveryAttempts);
    expect(logged.filter((a) => a.statusCode === 500).length).toBe(rx.received.filter((r) => r.answered === 500).length);
    // Two minutes of failures is far from WEBHOOK_DISABLE_AFTER_DAYS: the endpoint stays on.
    const [row] = await handle.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(row).toMatchObject({ status: "active", failingSince: null });
  }, 300_000);
});
