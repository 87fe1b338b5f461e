import { isTerminalStatus } from "@inboxerr/db";
import { batchCompletions, claimInboundEvents, claimSenderEvents, markInboundPublished, markSenderEventsPublished } from "@inboxerr/webhooks";
import type { DeriveEvents } from "./message-events";
import type { EventSource } from "./sources";

/**
 * The sibling outboxes (ADR 0023): attributed inbound SMS and sender health changes, each
 * polled by one replica at a time. Lock keys are arbitrary constants, apart from the
 * sender-worker's (4_712_030_00x); changing one lets two replicas poll at once for a rollout
 * (harmless: fan-out is idempotent).
 */
export const EVENT_SOURCES: readonly EventSource[] = [
  { name: "inbound_messages", lockKey: 4_712_170_001, read: claimInboundEvents, markPublished: markInboundPublished },
  { name: "sender_events", lockKey: 4_712_170_002, read: claimSenderEvents, markPublished: markSenderEventsPublished },
];

/** `batch.completed` for the batches whose last message a batch of terminal events ended. */
export const deriveBatchCompleted: DeriveEvents = (db, jobs) =>
  batchCompletions(
    db,
    jobs.filter((j) => isTerminalStatus(j.status)).map((j) => j.messageId),
  );
