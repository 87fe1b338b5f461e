/**
 * kill -9 of the dispatcher mid-run loses nothing (ADR 0023): the real process (src/main.ts)
 * is killed while deliveries are in flight, a new one takes over the lapsed leases, and every
 * event reaches the receiver, each under the one webhook-id it had before the kill.
 */
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createOutboxQueues, createRedis, type OutboxQueues } from "@inboxerr/contracts";
import { createDb, parseSecretsKey, transitionMany, webhookDeliveries, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createOutboxPublisher } from "@inboxerr/outbox";
import {
  createPrivateDatabase,
  createTestUser,
  deleteKeysByPrefix,
  insertMessages,
  startDispatcher,
  testEnv,
  uniqueSuffix,
  waitFor,
  type DispatcherProcess,
} from "@inboxerr/testing";
import { createEndpoint, startReceiver, type Receiver } from "./testing/receiver";

const env = testEnv();
const prefix = `${env.queuePrefix}:wd-kill-${uniqueSuffix()}`;
const secretsKeyText = randomBytes(32).toString("base64");
const secretsKey = parseSecretsKey(secretsKeyText);
const N = 400;

let priv: { url: string; drop: () => Promise<void> };
let handle: DbHandle;
let producer: Redis;
let queues: OutboxQueues;
let rx: Receiver;
const dispatchers: DispatcherProcess[] = [];
let stalled = false;

beforeAll(async () => {
  priv = await createPrivateDatabase();
  handle = createDb(priv.url, { max: 4 });
  producer = createRedis(env.redisUrl, "producer");
  queues = createOutboxQueues({ connection: producer, prefix });
  // Answers wait a little; while `stalled`, they never come, so the process dies mid-delivery.
  rx = await startReceiver(() => (stalled ? "hang" : 200), { delayMs: 20 });
});

afterAll(async () => {
  for (const d of dispatchers) await d.stop(5_000);
  await rx?.close();
  await Promise.all((queues ?? []).map((q) => q.close()));
  await producer?.quit();
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await handle?.close();
  await priv?.drop();
});

const start = async () => {
  const d = await startDispatcher({
    DATABASE_URL: priv.url,
    REDIS_URL: env.redisUrl,
    QUEUE_PREFIX: prefix,
    SECRETS_KEY: secretsKeyText,
    WEBHOOK_ALLOW_INSECURE: "true",
    WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
    // A short timeout makes the dead process's leases lapse soon (timeout + margin = 4 s).
    WEBHOOK_TIMEOUT_MS: "2000",
    WEBHOOK_RETRY_SCHEDULE: "0,1,1,1,1,1,1,1",
    WEBHOOK_ENDPOINT_CONCURRENCY: "4",
  });
  dispatchers.push(d);
  return d;
};

it("loses no event when the dispatcher is killed -9 mid-run, and keeps each event's webhook-id", async () => {
  const user = await createTestUser(handle.db);
  const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url, ["message.delivered"]);
  const first = await start();
  const messages = await insertMessages(handle.db, user.id, N);
  const publisher = createOutboxPublisher({ pool: handle.pool, queues, logger: createLogger({ service: "kill-test", level: "silent" }) });
  publisher.publish(await transitionMany(handle.pool, messages.map((m) => ({ messageId: m.id, to: "delivered" as const }))));
  await publisher.close();

  await waitFor(() => rx.deliveredIds().size >= 40, { timeoutMs: 30_000, message: "deliveries under way" });
  stalled = true;
  await waitFor(() => rx.received.some((r) => r.answered === "hang"), { message: "attempts in flight" });
  first.child.kill("SIGKILL");
  await waitFor(() => first.child.signalCode === "SIGKILL", { message: "the dispatcher dead" });
  const atKill = rx.deliveredIds().size;
  expect(atKill).toBeLessThan(N);
  // Killed mid-delivery: rows still leased to the dead process, which only a lapsed lease frees.
  const held = await handle.pool.query<{ n: number }>(
    "select count(*)::int as n from webhook_deliveries where status in ('pending', 'failed') and leased_until > now()",
  );
  expect(held.rows[0]!.n).toBeGreaterThan(0);

  stalled = false;
  const second = await start();
  await waitFor(() => rx.deliveredIds().size >= N, { timeoutMs: 90_000, message: `all ${N} events after the restart` });

  // One webhook-id per event, and each id's body always the same event.
  const hook = new Webhook(endpoint.plainSecret);
  const idsByMessage = new Map<string, Set<string>>();
  for (const r of rx.received) {
    const body = hook.verify(r.body, r.headers as Record<string, string>) as { data: { id: string } };
    (idsByMessage.get(body.data.id) ?? idsByMessage.set(body.data.id, new Set()).get(body.data.id)!).add(r.id);
  }
  expect(idsByMessage.size).toBe(N);
  for (const ids of idsByMessage.values()) expect(ids.size).toBe(1);
  const rows = await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id));
  expect(rows).toHaveLength(N);
  await waitFor(async () => {
    const now = await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id));
    return now.every((d) => d.status === "succeeded");
  }, { message: "every delivery recorded as succeeded" });
  // SIGTERM: a clean exit (pnpm start and the end-to-end test expect 0).
  expect(await second.stop(), second.output()).toBe(0);
}, 150_000);
