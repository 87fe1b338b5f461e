import { Counter, Histogram, type Registry } from "prom-client";
import { isKnownWebhookEvent } from "@inboxerr/gateway";

export type IngestMetrics = {
  /** outcome: applied | ignored | duplicate | invalid_signature | malformed. */
  received: (event: string, outcome: string) => void;
  batchSize: (n: number) => void;
  publishFailed: (n: number) => void;
};

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const received = new Counter({
    name: "inboxerr_webhooks_received_total",
    help: "Gateway webhooks received, by event and what became of them",
    labelNames: ["event", "outcome"],
    registers: [registry],
  });
  const batch = new Histogram({
    name: "inboxerr_webhook_batch_size",
    help: "Webhooks applied per database statement",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });
  const publishFailures = new Counter({
    name: "inboxerr_outbox_publish_failures_total",
    help: "Outbox events left for the relay because publishing after commit failed",
    registers: [registry],
  });
  return {
    // Event names come from the sender: anything unexpected is one label, not a new series.
    received: (event, outcome) => received.inc({ event: isKnownWebhookEvent(event) ? event : "other", outcome }),
    batchSize: (n) => batch.observe(n),
    publishFailed: (n) => publishFailures.inc(n),
  };
}
