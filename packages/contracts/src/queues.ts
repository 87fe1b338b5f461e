import { z } from "zod";
import type { JobsOptions } from "bullmq";

/**
 * Queue names. Renaming one strands every job already in Redis under the old name
 * (the sweeper recovers sends from Postgres, the outbox relay recovers events), so treat
 * them as a wire contract.
 */
export const QUEUE_NAMES = {
  smsSend: "sms-send",
  /** The metrics worker's copy of every outbox row. */
  metricsEvents: "metrics-events",
  /** webhook-dispatcher's copy of the outbox rows customers are told of (issue 17, ADR 0023; CUSTOMER_VISIBLE_STATUSES). */
  webhookEvents: "webhook-events",
  /**
   * The one outbox queue before each consumer had its own. Nothing new publishes to it; the
   * metrics worker drains what older publishers left there (ADR 0013 says when it can go).
   */
  legacyMessageEvents: "message-events",
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * One queue per consumer of the outbox: each row goes to every queue that takes its status
 * (OUTBOX_QUEUE_STATUSES), inside a job of up to OUTBOX_EVENTS_PER_JOB events (ADR 0024), and counts as published (`published_at`
 * set) only once all of those have it. `published_at` is one column, not one per consumer:
 * while any publisher or relay still runs a release without a new consumer's queue, it stamps
 * rows it never put there. So a new consumer may rely only on events published after the
 * release listing its queue runs everywhere, or reconcile from the outbox itself (ADR 0013,
 * "Adding a consumer").
 */
export const OUTBOX_QUEUES = [QUEUE_NAMES.metricsEvents, QUEUE_NAMES.webhookEvents] as const;
export type OutboxQueueName = (typeof OUTBOX_QUEUES)[number];

export const MESSAGE_STATUS_VALUES = [
  "scheduled",
  "queued",
  "sending",
  "accepted",
  "sent",
  "delivered",
  "failed",
  "cancelled",
  "expired",
] as const;
type EventStatus = (typeof MESSAGE_STATUS_VALUES)[number];

/**
 * The moves customers are told of (a `message.<status>` webhook each, ADR 0023): all the
 * webhook-dispatcher fans out. `messageEventType` in packages/webhooks maps exactly these.
 */
export const CUSTOMER_VISIBLE_STATUSES = ["accepted", "sent", "delivered", "failed", "expired", "cancelled"] as const satisfies readonly EventStatus[];
export type CustomerVisibleStatus = (typeof CUSTOMER_VISIBLE_STATUSES)[number];

/**
 * The statuses each outbox queue takes: only those its consumer reads (ADR 0013, amended in
 * session 10). A job its consumer would only drop still costs the publisher a Redis add: on
 * webhook-events that was every `sending` and `queued` row, half the sender's drain adds there.
 * A consumer that starts reading another status widens its entry here, and, like a new
 * consumer, gets only rows published after that release runs everywhere, or reconciles.
 */
export const OUTBOX_QUEUE_STATUSES: Record<OutboxQueueName, readonly EventStatus[] | "all"> = {
  "metrics-events": "all",
  "webhook-events": CUSTOMER_VISIBLE_STATUSES,
};

/** Whether an event of `status` goes on `queue`; a queue outside OUTBOX_QUEUES (the legacy `message-events`) takes all. */
export function queueTakes(queue: QueueName, status: EventStatus): boolean {
  const taken = (OUTBOX_QUEUE_STATUSES as Partial<Record<QueueName, readonly EventStatus[] | "all">>)[queue];
  return taken === undefined || taken === "all" || taken.includes(status);
}

/**
 * One `sms-send` job = one message's next attempt (invariant 2). The first attempt's job has
 * the message id as its jobId; a new attempt after one that provably never left the phone
 * (ADR 0019) gets a jobId of its own, see sendJobId.
 */
export const smsSendJobSchema = z.object({ messageId: z.uuid() });
export type SmsSendJob = z.infer<typeof smsSendJobSchema>;

/**
 * The jobId of the `sms-send` job that makes attempt `n` of a message: the message id for the
 * first (so the api's add and the sweeper's re-add stay one job), `<id>-r<n>` for a new
 * attempt, whose predecessor's job may still be kept in Redis as completed under the plain id.
 */
export function sendJobId(messageId: string, n = 1): string {
  return n <= 1 ? messageId : `${messageId}-r${n}`;
}

/**
 * One `message_events` outbox row as an outbox queue carries it: an element of a batch job's
 * `events` (messageEventBatchJobSchema), or, before ADR 0024, a job's whole data (jobId = event
 * id; consumers still read that shape: older publishers, the legacy queue).
 */
export const messageEventJobSchema = z.object({
  eventId: z.uuid(),
  messageId: z.uuid(),
  userId: z.uuid(),
  status: z.enum(MESSAGE_STATUS_VALUES),
  occurredAt: z.iso.datetime({ offset: true }),
  /** Milliseconds from the message's creation to this transition. */
  latencyMs: z.number().int().nullable(),
  /** The message's sender when it moved (ADR 0021); absent from jobs of publishers before it. */
  senderId: z.uuid().nullable().optional(),
  /** A `failed` event's reason, at most EVENT_JOB_ERROR_MAX_CHARS; null for other statuses. */
  error: z.string().nullable().optional(),
});
export type MessageEventJob = z.infer<typeof messageEventJobSchema>;

/**
 * Events of one publish in one outbox job at most (ADR 0024): a job costs Redis a Lua script
 * to add and two moves to consume, so 200 events share them instead of paying each.
 */
export const OUTBOX_EVENTS_PER_JOB = 200;

/**
 * One job of an outbox queue (OUTBOX_QUEUES), named `events`: up to OUTBOX_EVENTS_PER_JOB rows
 * the queue takes, of one publish, under BullMQ's own job id. A republish makes another job
 * with the same events; consumers drop the repeats by event id (ADR 0024).
 */
export const messageEventBatchJobSchema = z.object({ events: z.array(messageEventJobSchema).max(OUTBOX_EVENTS_PER_JOB) });
export type MessageEventBatchJob = z.infer<typeof messageEventBatchJobSchema>;

/** What an outbox queue's job holds: a batch, or the one event of a pre-0024 publisher. */
export type OutboxJobData = MessageEventBatchJob | MessageEventJob;

/** An outbox row (`message_events`) as every writer holds it after its transition committed. */
export type OutboxEvent = {
  id: string;
  messageId: string;
  userId: string;
  status: MessageEventJob["status"];
  occurredAt: Date;
  latencyMs: number | null;
  /** message_events.sender_id; undefined from writers that do not read it. */
  senderId?: string | null;
  /** message_events.error (set on `failed` events only). */
  error?: string | null;
};

/** A failure reason in a job is cut to this many characters: metrics keep 100 of them. */
export const EVENT_JOB_ERROR_MAX_CHARS = 200;

/** An outbox row as an outbox job carries it (an element of a batch job's `events`). */
export function toEventJob(e: OutboxEvent): MessageEventJob {
  return {
    eventId: e.id,
    messageId: e.messageId,
    userId: e.userId,
    status: e.status,
    occurredAt: e.occurredAt.toISOString(),
    latencyMs: e.latencyMs === null ? null : Math.round(e.latencyMs),
    senderId: e.senderId ?? null,
    // Code points, not UTF-16 units: a cut must not split a surrogate pair.
    error: e.status === "failed" && e.error != null ? [...e.error].slice(0, EVENT_JOB_ERROR_MAX_CHARS).join("") : null,
  };
}

/**
 * Every outbox queue's jobs: a consumer retries a job (its events, idempotently), then keeps it
 * a week for inspection. Kept jobs are counted in jobs of up to OUTBOX_EVENTS_PER_JOB events
 * (ADR 0024): 1,000 of them hold what 100,000 single-event jobs did (~60 MB of Redis at most,
 * not the GBs an hour of batch jobs would be). Nothing relies on a kept job any more: a
 * republish is dropped by the consumer, not by job id.
 */
const OUTBOX_JOB_DEFAULTS: JobsOptions = {
  stackTraceLimit: 0,
  attempts: 10,
  backoff: { type: "exponential", delay: 500, jitter: 0.5 },
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 1_000 },
};

/**
 * Retry and retention defaults per queue, shared by producers and workers.
 * `stackTraceLimit: 0`: BullMQ otherwise appends the error's stack to the job on every failed
 * attempt (one 25 KB trace per retry in a Postgres outage grew Redis tenfold); the logs have it.
 */
export const JOB_DEFAULTS: Record<QueueName, JobsOptions> = {
  "sms-send": {
    stackTraceLimit: 0,
    // Transient gateway errors retry with exponential backoff and jitter. Throttling answers
    // (429, 503 QueueLimitExceeded) and waits for a sender move the job back to the delayed
    // set (job.moveToDelayed + DelayedError), which consumes none of these attempts.
    attempts: 8,
    backoff: { type: "exponential", delay: 1_000, jitter: 0.5 },
    // Finished jobs are kept briefly so a duplicate add of the same id is a no-op;
    // the sweeper removes a kept one before it re-enqueues that message.
    removeOnComplete: { age: 3_600, count: 100_000 },
    removeOnFail: { age: 7 * 24 * 3_600, count: 100_000 },
  },
  "metrics-events": OUTBOX_JOB_DEFAULTS,
  "webhook-events": OUTBOX_JOB_DEFAULTS,
  "message-events": OUTBOX_JOB_DEFAULTS,
};

/**
 * Our priority is -128..127, higher first (as SMS Gate's). BullMQ's is 1 (first) .. 2^21,
 * and jobs without a priority jump ahead of prioritised ones, so every job gets one.
 */
export function toQueuePriority(priority: number): number {
  return 128 - Math.max(-128, Math.min(127, Math.trunc(priority)));
}
