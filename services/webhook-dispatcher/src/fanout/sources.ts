import { withTransaction, type Db } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { WebhookEvent } from "@inboxerr/webhooks";
import type { FanOut } from "./fanout";

/**
 * A sibling outbox the dispatcher polls (ADR 0023): `inbound_messages` and `sender_events`
 * rows with `published_at` null. `read` turns the oldest of them into events (event id = the
 * row's id), `markPublished` stamps them once their deliveries are committed. A crash between
 * the two fans them out again, a no-op by the (endpoint_id, event_id) key.
 */
export type EventSource = {
  name: string;
  /** Its advisory lock: one replica polls a source at a time. */
  lockKey: number;
  read: (db: Db, limit: number) => Promise<WebhookEvent[]>;
  markPublished: (db: Db, eventIds: readonly string[]) => Promise<void>;
};

export type SourcePoller = { start: () => void; close: () => Promise<void> };

/** Polls each source every `intervalMs`, draining it page by page under its advisory lock. */
export function createSourcePoller(opts: {
  db: Db;
  logger: Logger;
  fanOut: FanOut;
  sources: readonly EventSource[];
  intervalMs?: number;
  pageSize?: number;
}): SourcePoller {
  const pageSize = opts.pageSize ?? 500;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  // The lock is the transaction's (pg_try_advisory_xact_lock): held while it is open, dropped
  // with the connection if the process dies. The work itself runs on other connections.
  const drain = (source: EventSource) =>
    withTransaction(opts.db, async (tx) => {
      const { rows } = await tx.query<{ ok: boolean }>("select pg_try_advisory_xact_lock($1) as ok", [source.lockKey]);
      if (rows[0]?.ok !== true) return;
      while (!stopped) {
        const events = await source.read(opts.db, pageSize);
        if (events.length === 0) return;
        await opts.fanOut(events);
        await source.markPublished(opts.db, events.map((e) => e.id));
        if (events.length < pageSize) return;
      }
    });

  const tick = async () => {
    for (const source of opts.sources) {
      if (stopped) return;
      await drain(source).catch((err: unknown) => opts.logger.warn({ err, source: source.name }, "polling an event source failed; next tick retries"));
    }
  };

  return {
    start() {
      if (opts.sources.length === 0 || timer) return;
      timer = setInterval(() => {
        running ??= tick().finally(() => (running = undefined));
      }, opts.intervalMs ?? 500);
      timer.unref();
    },
    async close() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
