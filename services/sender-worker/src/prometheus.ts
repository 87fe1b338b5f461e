import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { SENDER_STATUSES, type DbHandle } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";

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
  const failoverCancels = new Counter({
    name: "inboxerr_failover_cancels_total",
    help: "Failover's cancels of attempts a dark phone accepted, by what the gateway answered (only confirmed ones are sent again)",
    labelNames: ["outcome"],
    registers,
  });
  for (const outcome of ["confirmed", "not_confirmed", "unknown"]) failoverCancels.inc({ outcome }, 0);
  return {
    sends,
    failoverCancels,
    sendersAutoPaused: new Counter({
      name: "inboxerr_senders_auto_paused_total",
      help: "Senders the health pass paused for repeated failures before transmission",
      registers,
    }),
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

/** Scrapes closer together than this share one count (every replica reports the same figure). */
const SENDERS_GAUGE_MAX_AGE_MS = 5_000;

/**
 * `inboxerr_senders{status}`: senders by status, read from Postgres at scrape, at most every
 * 5 s. Every replica reports the fleet's figure, so dashboards take `max`, not `sum` (ADR
 * 0022). A failed read keeps the last figures: a scrape never fails for it.
 */
export function registerSendersGauge(registry: Registry, pool: DbHandle["pool"], logger: Logger): void {
  let counts = new Map<string, number>();
  let readAt = -Infinity;
  let reading: Promise<void> | undefined;
  const read = async () => {
    try {
      const { rows } = await pool.query<{ status: string; n: string }>("select status, count(*) as n from senders group by status");
      counts = new Map(rows.map((r) => [r.status, Number(r.n)]));
      readAt = performance.now();
    } catch (err) {
      logger.warn({ err }, "could not count senders for /metrics; reporting the last figures");
    }
  };
  new Gauge({
    name: "inboxerr_senders",
    help: "Senders by status, fleet-wide (every replica reports the same figure: take max, not sum)",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      if (performance.now() - readAt >= SENDERS_GAUGE_MAX_AGE_MS) {
        reading ??= read().finally(() => {
          reading = undefined;
        });
        await reading;
      }
      for (const status of SENDER_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
}
