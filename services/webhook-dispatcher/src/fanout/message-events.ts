import type { Job } from "bullmq";
import { MicroBatcher } from "@inboxerr/batch";
import { takeEventJob, type MessageEventJob } from "@inboxerr/contracts";
import type { Db } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { loadMessages, messageEventType, type WebhookEvent } from "@inboxerr/webhooks";
import type { EndpointCache } from "./endpoints";
import type { FanOut } from "./fanout";

export type MessageEventConsumer = {
  process: (job: Job<unknown>) => Promise<void>;
  /** Runs the events in hand; the worker must be closed (or closing) first. */
  close: () => Promise<void>;
};

/**
 * Events a batch of message events implies besides their own (`batch.completed` when a
 * batch's last message ended, ADR 0023), fanned out with them.
 */
export type DeriveEvents = (db: Db, jobs: readonly MessageEventJob[]) => Promise<WebhookEvent[]>;

/**
 * The processor of `webhook-events`: a job carries a batch of message_events rows (ADR 0024) or,
 * from an older publisher, one, and each event joins a micro-batch. Per batch, the events
 * customers are told of whose owner has a matching endpoint get their message read in one
 * query (data = the message as the API shows it, status = the event's own) and are fanned out
 * in one insert (fanOutMessageEvents). A job completes when all its events' deliveries are
 * committed, not when they are delivered: a hanging endpoint never holds the queue.
 */
export function createMessageEventConsumer(opts: {
  db: Db;
  logger: Logger;
  endpoints: EndpointCache;
  fanOut: FanOut;
  derive?: DeriveEvents;
}): MessageEventConsumer {
  const batcher = new MicroBatcher<MessageEventJob, void>({
    maxSize: 1_000,
    maxConcurrent: 2,
    lingerMs: 5,
    run: async (jobs) => {
      await fanOutMessageEvents(opts, jobs);
      return jobs.map(() => undefined);
    },
  });
  return {
    // No withLogContext per job: its AsyncLocalStorage installs promise hooks that every promise
    // in the process then pays for (~5% of the dispatcher's allocations), and a job's work is a
    // shared batch's anyway. The lines a job logs name it by hand.
    process: async (job) => {
      const read = takeEventJob(job, opts.logger);
      // Every event is added before any is awaited, so they share fan-outs. The job settles only
      // once none of its events is in flight; one failed fan-out fails it, and its retry finds
      // the others' deliveries already there (one per endpoint and event).
      const settled = await Promise.allSettled(read.events.map((e) => batcher.add(e)));
      for (const s of settled) if (s.status === "rejected") throw s.reason;
    },
    close: () => batcher.close(),
  };
}

/**
 * Fans out a batch of message events (from the queue, or from the outbox by the reconcile
 * pass): those customers are told of whose owner has an endpoint get their message read in one
 * query (data = the message as the API shows it, status = the event's own), plus what they
 * imply (batch.completed), in one insert.
 */
export async function fanOutMessageEvents(
  opts: { db: Db; endpoints: EndpointCache; fanOut: FanOut; derive?: DeriveEvents },
  jobs: readonly MessageEventJob[],
): Promise<void> {
  // The queue gets only these (OUTBOX_QUEUE_STATUSES), but a publisher of an earlier release
  // still running puts every status there.
  const told = jobs.filter((j) => messageEventType(j.status) !== null);
  const byUser = await opts.endpoints.forUsers(told.map((j) => j.userId));
  const wanted = told.filter((j) => (byUser.get(j.userId)?.length ?? 0) > 0);
  // The messages and the batches they end are read at once: neither needs the other.
  const [messages, derived] = await Promise.all([
    loadMessages(opts.db, wanted.map((j) => j.messageId)),
    // Only owners with an endpoint can be told of a batch's end: others cost no query.
    opts.derive && wanted.length > 0 ? opts.derive(opts.db, wanted) : [],
  ]);
  const events: WebhookEvent[] = [];
  for (const j of wanted) {
    const message = messages.get(j.messageId);
    // A message deleted since (its user was): nothing to tell.
    if (!message) continue;
    events.push({
      id: j.eventId,
      type: messageEventType(j.status)!,
      userId: j.userId,
      occurredAt: new Date(j.occurredAt),
      data: { ...message, status: j.status },
    });
  }
  events.push(...derived);
  await opts.fanOut(events);
}
