/** Test support: a real webhook-ingest on a free port, real Postgres and Redis, signed posts. */
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { eq, inArray } from "drizzle-orm";
import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import { createOutboxQueues, createQueue, createRedis, QUEUE_NAMES, type OutboxQueues, type SmsSendJob } from "@inboxerr/contracts";
import { createDb, gatewayWebhookEvents, messageEvents, messages, parseSecretsKey, type DbHandle } from "@inboxerr/db";
import { signWebhook } from "@inboxerr/gateway";
import { closeServer, listen } from "@inboxerr/http";
import { createLogger, type Logger } from "@inboxerr/logger";
import { deleteKeysByPrefix, testEnv, uniqueSuffix } from "@inboxerr/testing";
import { createWebhookIngest, type WebhookIngest } from "../app";

export const SIGNING_KEY = "test-signing-key-0123456789";
/** The harness's SECRETS_KEY: seal accounts' secrets with it (sealSecret). */
export const SECRETS = parseSecretsKey(Buffer.alloc(32, 7).toString("base64"));

export type Harness = {
  url: string;
  /** The BullMQ prefix of this harness's outbox queues. */
  prefix: string;
  database: DbHandle;
  /** One per outbox consumer (OUTBOX_QUEUES). */
  queues: OutboxQueues;
  /** The `sms-send` queue new attempts' jobs go to. */
  sends: Queue<SmsSendJob>;
  ingest: WebhookIngest;
  close: () => Promise<void>;
};

/** Starts an ingest app; the URLs let a test point it at a Postgres or Redis that is down. */
export async function startIngest(
  opts: {
    redisUrl?: string;
    databaseUrl?: string;
    /** The queue prefix to publish on (e.g. a fleet's, whose sender-workers take the new attempts' jobs); the caller owns its keys. */
    prefix?: string;
    accountKeyCache?: { ttlMs?: number; recheckMs?: number };
    /** SECRETS_KEY (base64) that opens gateway accounts' sealed signing keys, e.g. the api harness's. Default: SECRETS. */
    secretsKey?: string;
    /** Default: silent. */
    logger?: Logger;
  } = {},
): Promise<Harness> {
  const env = testEnv();
  const database = createDb(opts.databaseUrl ?? env.databaseUrl, { max: 10, connectionTimeoutMillis: 1_000 });
  const redis: Redis = createRedis(opts.redisUrl ?? env.redisUrl, "producer");
  const prefix = opts.prefix ?? `${env.queuePrefix}:${uniqueSuffix()}`;
  const queues = createOutboxQueues({ connection: redis, prefix });
  const sends = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection: redis, prefix });
  for (const q of [...queues, sends]) q.on("error", () => undefined);
  // A fail-fast producer rejects commands issued before it connects; a test that closes early
  // would leave BullMQ's own start-up commands rejecting unhandled. Start from ready queues.
  if (!opts.redisUrl) await Promise.all([...queues, sends].map((q) => q.waitUntilReady()));
  const ingest = createWebhookIngest({
    database,
    events: queues,
    sends,
    signingKey: SIGNING_KEY,
    secrets: opts.secretsKey ? parseSecretsKey(opts.secretsKey) : SECRETS,
    ...(opts.accountKeyCache ? { accountKeyCache: opts.accountKeyCache } : {}),
    defaultRegion: "GB",
    logger: opts.logger ?? createLogger({ service: "webhook-ingest-test", level: "silent" }),
  });
  const { server, port }: { server: Server; port: number } = await listen(ingest.app, 0, "127.0.0.1");
  return {
    url: `http://127.0.0.1:${port}/webhooks/sms-gate`,
    prefix,
    database,
    queues,
    sends,
    ingest,
    async close() {
      await closeServer(server);
      await ingest.close();
      await Promise.all([...queues, sends].map((q) => q.close().catch(() => undefined)));
      redis.disconnect();
      if (!opts.redisUrl && !opts.prefix) await deleteKeysByPrefix(env.redisUrl, prefix).catch(() => undefined);
      await database.close();
    },
  };
}

export function envelope(event: string, payload: Record<string, unknown>, id: string = randomUUID()) {
  return { id, webhookId: "inboxerr-test", deviceId: "device-1", event, payload };
}

/** POSTs `body` signed as SMS Gate does; `tamper` changes the request after signing. */
export async function postSigned(
  url: string,
  body: unknown,
  tamper: { key?: string; timestamp?: number; rawAfterSigning?: (raw: string) => string } = {},
): Promise<Response> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(tamper.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = signWebhook(tamper.key ?? SIGNING_KEY, raw, timestamp);
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-signature": signature, "x-timestamp": timestamp },
    body: tamper.rawAfterSigning ? tamper.rawAfterSigning(raw) : raw,
  });
}

export async function messageRow(h: Harness, id: string) {
  const [row] = await h.database.db.select().from(messages).where(eq(messages.id, id));
  if (!row) throw new Error(`message ${id} not found`);
  return row;
}

export async function eventsOf(h: Harness, messageId: string) {
  return h.database.db.select().from(messageEvents).where(eq(messageEvents.messageId, messageId));
}

export async function storedEnvelopes(h: Harness, ids: string[]) {
  return h.database.db.select().from(gatewayWebhookEvents).where(inArray(gatewayWebhookEvents.envelopeId, ids));
}
