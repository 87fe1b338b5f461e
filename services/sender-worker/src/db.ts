import type { CreateDbOptions } from "@inboxerr/db";

/**
 * The sender's pool. Status batches, publishes, the sweeper, the relay, the sync and the health
 * pass (one lock connection each) share it. Every job of a micro-batch waits on its statement,
 * so none may hang: the server cancels a statement after 15 s (a lock wait, a slow plan), and
 * the client gives up on a query with no answer at all (a network partition) after 20 s.
 */
export const SENDER_DB_OPTIONS = {
  applicationName: "sender-worker",
  max: 12,
  statementTimeoutMs: 15_000,
  queryTimeoutMs: 20_000,
} as const satisfies CreateDbOptions;
