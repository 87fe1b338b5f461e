import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { OutboxQueues, SmsSendJob } from "@inboxerr/contracts";
import type { DbHandle, SecretsKey } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { OutboxPublisher } from "@inboxerr/outbox";
import type { ApiConfig } from "./config";
import type { ApiInstruments } from "./prometheus";
import type { PhoneNormalizer } from "./send/phone-cache";

export type ApiQueues = {
  smsSend: Queue<SmsSendJob>;
  /** One per outbox consumer (createOutboxQueues). */
  outbox: OutboxQueues;
};

/** Everything a route needs, built once by createApp and passed down explicitly. */
export type ApiDeps = {
  config: ApiConfig;
  db: DbHandle["db"];
  redis: Redis;
  queues: ApiQueues;
  /** Publishes committed outbox rows (a cancel's event) in the background. */
  outbox: OutboxPublisher;
  logger: Logger;
  metrics: ApiInstruments;
  phones: PhoneNormalizer;
  /** SECRETS_KEY, parsed; null when unset (storing gateway or webhook endpoint secrets then answers 503, ADR 0017, 0023). */
  secrets: SecretsKey | null;
  /** Bound on every post-commit Redis call (enqueue, publish): the answer never waits on Redis. */
  redisTimeoutMs: number;
};
