import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type DeliveryOutcome = "succeeded" | "failed" | "exhausted" | "unsafe";
type DisabledReason = "gone" | "failing";

export type DispatcherInstruments = {
  delivered: (outcome: DeliveryOutcome, seconds: number) => void;
  disabled: (reason: DisabledReason) => void;
  fannedOut: (n: number) => void;
};

/**
 * The dispatcher's series (ADR 0023 "Metrics"). The two gauges are read when Prometheus
 * scrapes: deliveries due and unleased (work waiting for a slot or a retry's time) and the
 * webhook-events jobs not yet fanned out (jobs, not events: ADR 0024).
 */
export function createDispatcherInstruments(
  registry: Registry,
  read: { dueCount: () => Promise<number>; queueDepth: () => Promise<number> },
): DispatcherInstruments {
  const deliveries = new Counter({
    name: "inboxerr_webhook_deliveries_total",
    help: "Delivery attempts to customers' endpoints, by outcome (unsafe: the target was refused before any request)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "inboxerr_webhook_delivery_duration_seconds",
    help: "Time of one delivery attempt, from the request to the answer's status (or the failure)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: "inboxerr_webhook_deliveries_due",
    help: "Deliveries due now and held by no dispatcher (waiting for a free slot)",
    registers: [registry],
    async collect() {
      this.set(await read.dueCount());
    },
  });
  new Gauge({
    name: "inboxerr_webhook_events_queue_depth",
    help: "Jobs of the webhook-events queue not yet fanned out (a job carries up to 200 events)",
    registers: [registry],
    async collect() {
      this.set(await read.queueDepth());
    },
  });
  const disabled = new Counter({
    name: "inboxerr_webhook_endpoints_disabled_total",
    help: "Endpoints the dispatcher disabled, by reason (gone: a 410 answer; failing: no success for WEBHOOK_DISABLE_AFTER_DAYS)",
    labelNames: ["reason"],
    registers: [registry],
  });
  const fanned = new Counter({
    name: "inboxerr_webhook_deliveries_created_total",
    help: "Deliveries created by fan-out (one per matching endpoint and event)",
    registers: [registry],
  });
  for (const outcome of ["succeeded", "failed", "exhausted", "unsafe"]) deliveries.inc({ outcome }, 0);
  for (const reason of ["gone", "failing"]) disabled.inc({ reason }, 0);
  return {
    delivered(outcome, seconds) {
      deliveries.inc({ outcome });
      duration.observe(seconds);
    },
    disabled: (reason) => disabled.inc({ reason }),
    fannedOut: (n) => fanned.inc(n),
  };
}
