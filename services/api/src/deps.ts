import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { MessageEventJob, SmsSendJob } from "@inboxerr/contracts";
import type { DbHandle } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { ApiConfig } from "./config";
import type { ApiInstruments } from "./prometheus";
import type { PhoneNormalizer } from "./send/phone-cache";

export type ApiQueues = {
  smsSend: Queue<SmsSendJob>;
  messageEvents: Queue<MessageEventJob>;
};

/** Everything a route needs, built once by createApp and passed down explicitly. */
export type ApiDeps = {
  config: ApiConfig;
  db: DbHandle["db"];
  redis: Redis;
  queues: ApiQueues;
  logger: Logger;
  metrics: ApiInstruments;
  phones: PhoneNormalizer;
  /** Bound on every post-commit Redis call (enqueue, publish): the answer never waits on Redis. */
  redisTimeoutMs: number;
};
