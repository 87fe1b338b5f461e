import { Counter, Histogram, type Registry } from "prom-client";
import type { MessageEventJob } from "@inboxerr/contracts";
import type { ApplyResult } from "./aggregate/apply";

export type MetricsWorkerInstruments = {
  /** Counts what one applyEvents call did with `events`. */
  record: (events: readonly MessageEventJob[], result: ApplyResult) => void;
  reconciled: (n: number) => void;
  batchSize: (n: number) => void;
};

/**
 * The metrics-worker's own Prometheus series (how many events it applied, skipped, reconciled),
 * served at its ops /metrics; the delivery metrics it computes live in metrics_buckets.
 */
export function createMetricsWorkerInstruments(registry: Registry): MetricsWorkerInstruments {
  const applied = new Counter({
    name: "inboxerr_metrics_events_applied_total",
    help: "Message events counted into metrics_buckets, by status",
    labelNames: ["status"],
    registers: [registry],
  });
  const duplicate = new Counter({
    name: "inboxerr_metrics_events_duplicate_total",
    help: "Message events skipped because their id was already counted",
    registers: [registry],
  });
  const implied = new Counter({
    name: "inboxerr_metrics_implied_steps_total",
    help: "States counted because a later status implied them (a delivery report overtook the sent report), by status",
    labelNames: ["status"],
    registers: [registry],
  });
  const reconciled = new Counter({
    name: "inboxerr_metrics_events_reconciled_total",
    help: "Message events the reconcile pass counted from Postgres because no queue copy had (ADR 0008)",
    registers: [registry],
  });
  const batch = new Histogram({
    name: "inboxerr_metrics_batch_size",
    help: "Message events folded into one metrics transaction",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  });
  return {
    record(events, result) {
      result.outcomes.forEach((o, i) => (o === "applied" ? applied.inc({ status: events[i]!.status }) : duplicate.inc()));
      for (const step of result.implied) implied.inc({ status: step.status });
    },
    reconciled: (n) => reconciled.inc(n),
    batchSize: (n) => batch.observe(n),
  };
}
