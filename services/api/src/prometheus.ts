import { Counter, type Registry } from "prom-client";

/**
 * The api's Prometheus counters (served at /metrics beside the HTTP histogram @inboxerr/http
 * provides), not the product's delivery metrics (/api/v1/metrics). No phone numbers in labels.
 */
export function createApiInstruments(registry: Registry) {
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
    outboxPublishFailures: new Counter({
      name: "inboxerr_outbox_publish_failures_total",
      help: "Outbox events not published after commit (the rows stay unpublished for the relay)",
      registers: [registry],
    }),
  };
}

export type ApiInstruments = ReturnType<typeof createApiInstruments>;
