import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { isKnownWebhookEvent } from "@inboxerr/gateway";

export type IngestInstruments = {
  /** outcome: applied | ignored | duplicate | invalid_signature | malformed. */
  received: (event: string, outcome: string) => void;
  batchSize: (n: number) => void;
  /** Starts timing one batch's statement; call the result when it has committed (or failed). */
  batchTimer: () => () => void;
  publishFailed: (n: number) => void;
  /** New attempts' sms-send jobs added after a pre-transmission failure (ADR 0019). */
  reattempts: (n: number) => void;
  /** ...and those whose add failed (the sweeper adds them again). */
  reattemptEnqueueFailed: (n: number) => void;
  /** Attempts the gateway reported sent after it had confirmed their cancel (ADR 0022). */
  sentAfterCancel: (n: number) => void;
};

/**
 * webhook-ingest's Prometheus series, served at its /metrics (not the product's delivery
 * metrics, which the metrics-worker counts from the events these webhooks write).
 */
export function createIngestInstruments(registry: Registry): IngestInstruments {
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
  // What the phone waits for besides HTTP: a slow statement shows here before it shows in p99.
  const batchDuration = new Histogram({
    name: "inboxerr_webhook_batch_duration_seconds",
    help: "Time to apply one batch of webhooks: its statement, round trip and commit",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const publishFailures = new Counter({
    name: "inboxerr_outbox_publish_failures_total",
    help: "Outbox events not published after commit (the rows stay unpublished for the relay)",
    registers: [registry],
  });
  const reattempts = new Counter({
    name: "inboxerr_webhook_reattempts_enqueued_total",
    help: "sms-send jobs added for a new attempt after a phone reported a failure before transmission",
    registers: [registry],
  });
  const reattemptFailures = new Counter({
    name: "inboxerr_webhook_reattempt_enqueue_failures_total",
    help: "New attempts' sms-send jobs not added after commit (the sender-worker's sweeper adds them from Postgres)",
    registers: [registry],
  });
  // Each one is a message that may have reached its recipient twice: worth an alert at > 0.
  const sentAfterCancel = new Counter({
    name: "inboxerr_webhook_sent_after_cancel_total",
    help: "Attempts the gateway reported sent after it had confirmed their cancel (failover moved the message on): possible double sends",
    registers: [registry],
  });
  return {
    // Event names come from the sender: anything unexpected is one label, not a new series.
    received: (event, outcome) => received.inc({ event: isKnownWebhookEvent(event) ? event : "other", outcome }),
    batchSize: (n) => batch.observe(n),
    batchTimer: () => batchDuration.startTimer(),
    publishFailed: (n) => publishFailures.inc(n),
    reattempts: (n) => reattempts.inc(n),
    reattemptEnqueueFailed: (n) => reattemptFailures.inc(n),
    sentAfterCancel: (n) => sentAfterCancel.inc(n),
  };
}

/** Set by the registration loop (main.ts): 1 once PUBLIC_WEBHOOK_URL is registered, 0 while it fails. */
export function createRegistrationGauge(registry: Registry): (registered: boolean) => void {
  const gauge = new Gauge({
    name: "inboxerr_webhook_registration_ok",
    help: "1 once PUBLIC_WEBHOOK_URL is registered with the gateway, 0 while registration is failing",
    registers: [registry],
  });
  return (registered) => gauge.set(registered ? 1 : 0);
}
