import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus counters of one simulator instance, in its own Registry so tests can run several. */
export function createSimulatorInstruments(opts: { defaultMetrics: boolean }) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    sends: new Counter({
      name: "simulator_sends_total",
      help: "Send requests by result (throttled and invalid ones are not sends in the stats)",
      labelNames: ["result"] as const,
      registers,
    }),
    outcomes: new Counter({
      name: "simulator_outcomes_total",
      help: "Messages whose fate played out, by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    webhookAttempts: new Counter({
      name: "simulator_webhook_attempts_total",
      help: "Webhook delivery attempts by event and result",
      labelNames: ["event", "result"] as const,
      registers,
    }),
    webhookDropped: new Counter({
      name: "simulator_webhook_dropped_total",
      help: "Webhook events dropped because the delivery backlog was full",
      registers,
    }),
  };
}

export type SimulatorInstruments = ReturnType<typeof createSimulatorInstruments>;

/** Gauges read at scrape time from live state, so nothing has to keep them in step. */
export function registerBacklogGauge(metrics: SimulatorInstruments, read: () => Record<"queued" | "inFlight" | "retrying", number>) {
  new Gauge({
    name: "simulator_webhook_backlog",
    help: "Webhook events waiting, in flight or waiting to retry",
    labelNames: ["state"] as const,
    registers: [metrics.registry],
    collect() {
      const now = read();
      this.set({ state: "queued" }, now.queued);
      this.set({ state: "in_flight" }, now.inFlight);
      this.set({ state: "retrying" }, now.retrying);
    },
  });
}
