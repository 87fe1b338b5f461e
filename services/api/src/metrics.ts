import { Counter, type Registry } from "prom-client";

/** The api's business counters, next to the HTTP histogram @inboxerr/http provides. No phone numbers in labels. */
export function createApiMetrics(registry: Registry) {
  return {
    accepted: new Counter({
      name: "inboxerr_messages_accepted_total",
      help: "Messages stored and answered 202",
      labelNames: ["endpoint"] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: "inboxerr_messages_rejected_total",
      help: "Recipients rejected at submission, by reason",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    enqueueFailures: new Counter({
      name: "inboxerr_enqueue_failures_total",
      help: "Messages stored but not enqueued (Redis down or slow); the sweeper enqueues them",
      registers: [registry],
    }),
    eventPublishFailures: new Counter({
      name: "inboxerr_event_publish_failures_total",
      help: "Outbox events not published after commit; the outbox relay republishes them",
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
