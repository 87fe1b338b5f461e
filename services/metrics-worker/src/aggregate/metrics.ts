import { Counter, Histogram, type Registry } from "prom-client";
import type { MessageEventJob } from "@inboxerr/contracts";

export type AggregateMetrics = {
  applied: (status: MessageEventJob["status"], n: number) => void;
  duplicate: (n: number) => void;
  batchSize: (n: number) => void;
};

export function createAggregateMetrics(registry: Registry): AggregateMetrics {
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
  const batch = new Histogram({
    name: "inboxerr_metrics_batch_size",
    help: "Message events folded into one metrics transaction",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  });
  return {
    applied: (status, n) => applied.inc({ status }, n),
    duplicate: (n) => duplicate.inc(n),
    batchSize: (n) => batch.observe(n),
  };
}
