import { Counter, Histogram, type Registry } from "prom-client";

const SEND_RESULTS = ["accepted", "duplicate", "throttled", "permanent", "transient", "expired"] as const;
export type SenderInstruments = ReturnType<typeof createSenderInstruments>;

/**
 * The sender-worker's Prometheus series, registered on the service registry served at its ops
 * /metrics (not the product's delivery metrics, which the metrics-worker counts).
 */
export function createSenderInstruments(registry: Registry) {
  const registers = [registry];
  const sends = new Counter({
    name: "inboxerr_sender_sends_total",
    help: "Send attempts by outcome (duplicate = the gateway already had the id: a retry after a crash)",
    labelNames: ["result"],
    registers,
  });
  // Zero-initialised so dashboards and alerts see every series before its first event.
  for (const result of SEND_RESULTS) sends.inc({ result }, 0);
  return {
    sends,
    gatewayDuration: new Histogram({
      name: "inboxerr_gateway_request_duration_seconds",
      help: "Gateway send request duration by outcome",
      labelNames: ["result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    statusBatchSize: new Histogram({
      name: "inboxerr_sender_status_batch_size",
      help: "Status writes folded into one database round trip",
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers,
    }),
    sweeperReenqueued: new Counter({
      name: "inboxerr_sweeper_reenqueued_total",
      help: "Messages the sweeper put back on the send queue, by the status they were found in",
      labelNames: ["status"],
      registers,
    }),
    sweeperExpired: new Counter({
      name: "inboxerr_sweeper_expired_total",
      help: "Messages the sweeper expired because validUntil passed before they were sent",
      registers,
    }),
    sweeperIdempotencyKeysPurged: new Counter({
      name: "inboxerr_sweeper_idempotency_keys_purged_total",
      help: "Expired idempotency keys the sweeper deleted",
      registers,
    }),
    outboxRepublished: new Counter({
      name: "inboxerr_outbox_republished_total",
      help: "Outbox events the relay published after the publish that followed their commit did not happen",
      registers,
    }),
    outboxPublishFailures: new Counter({
      name: "inboxerr_outbox_publish_failures_total",
      help: "Outbox events not published after commit (the rows stay unpublished for the relay)",
      registers,
    }),
  };
}
