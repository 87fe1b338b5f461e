import type { Queue } from "bullmq";
import { withTimeout } from "@inboxerr/batch";
import { enqueueSends, type SmsSendJob } from "@inboxerr/contracts";
import { claimFailoverCandidates, markFailoverUnconfirmed, type DbHandle, type FailoverCandidate } from "@inboxerr/db";
import type { CancelResult, GatewayDriver } from "@inboxerr/gateway";
import type { Logger } from "@inboxerr/logger";
import type { OutboxPublisher } from "@inboxerr/outbox";
import type { SenderInstruments } from "../prometheus";
import type { AccountDrivers } from "../route/drivers";
import type { FleetCache } from "../route/fleet-cache";
import { applyConfirmedCancels } from "./confirmed-cancels";

/** Cancels in flight per account: a slow gateway holds up its own account only. */
const CANCELS_PER_ACCOUNT = 8;
/** Attempts asked about per pass, oldest first (ADR 0022). */
const CANDIDATES_PER_PASS = 500;

export type FailoverDeps = {
  db: DbHandle;
  fleet: FleetCache;
  drivers: AccountDrivers;
  queue: Queue<SmsSendJob>;
  publisher: OutboxPublisher;
  metrics: SenderInstruments;
  logger: Logger;
  offlineAfterSeconds: number;
  failoverAfterSeconds: number;
  maxAttempts: number;
  /** The status writer's side of a confirmed cancel; tests watch it. */
  applyCancels?: typeof applyConfirmedCancels;
};

export type FailoverSummary = { asked: number; confirmed: number; notConfirmed: number; unknown: number; reattempts: number };

type Outcome = CancelResult["kind"];

/**
 * Failover (ADR 0022 step 3): asks the gateway to cancel what a dark phone accepted but never
 * sent, and moves only what it confirms cancelled to a new attempt. Anything else resends
 * nothing: the message shows `failover_unconfirmed` and a later pass asks again.
 */
export function createFailover(deps: FailoverDeps) {
  const { db, logger } = deps;
  const applyCancels = deps.applyCancels ?? applyConfirmedCancels;

  /** One account's cancels, CANCELS_PER_ACCOUNT at a time; a driver that cannot be built answers unknown. */
  async function cancelAll(accountId: string, attempts: FailoverCandidate[]): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    const account = (await deps.fleet.get()).accounts.get(accountId);
    let driver: GatewayDriver;
    try {
      if (!account) throw new Error("account not in the fleet cache");
      driver = deps.drivers.driverFor(account);
    } catch (err) {
      logger.warn({ err, accountId, attempts: attempts.length }, "failover cannot reach this account's gateway; asking again later");
      for (const a of attempts) outcomes.set(a.attemptId, "unknown");
      return outcomes;
    }
    const pending = [...attempts];
    const lane = async () => {
      for (let a = pending.shift(); a; a = pending.shift()) {
        const result = await driver.cancel(a.attemptId);
        outcomes.set(a.attemptId, result.kind);
        if (result.kind !== "cancelled") logger.info({ attemptId: a.attemptId, messageId: a.messageId, result }, "failover cancel not confirmed");
      }
    };
    await Promise.all(Array.from({ length: Math.min(CANCELS_PER_ACCOUNT, pending.length) }, lane));
    return outcomes;
  }

  return {
    async runOnce(): Promise<FailoverSummary> {
      // cancel_requested_at is written here, before any call: a crash mid-pass waits a pause
      // before asking again instead of hammering the gateway.
      const candidates = await claimFailoverCandidates(db.pool, {
        offlineAfterSeconds: deps.offlineAfterSeconds,
        failoverAfterSeconds: deps.failoverAfterSeconds,
        limit: CANDIDATES_PER_PASS,
      });
      const summary: FailoverSummary = { asked: candidates.length, confirmed: 0, notConfirmed: 0, unknown: 0, reattempts: 0 };
      if (candidates.length === 0) return summary;

      const byAccount = new Map<string, FailoverCandidate[]>();
      for (const c of candidates) byAccount.set(c.accountId, [...(byAccount.get(c.accountId) ?? []), c]);
      const results = await Promise.all([...byAccount].map(([accountId, attempts]) => cancelAll(accountId, attempts)));
      const confirmed: string[] = [];
      const unconfirmed: string[] = [];
      for (const outcomes of results) {
        for (const [attemptId, kind] of outcomes) {
          (kind === "cancelled" ? confirmed : unconfirmed).push(attemptId);
          if (kind === "cancelled") summary.confirmed += 1;
          else if (kind === "not_cancelled") summary.notConfirmed += 1;
          else summary.unknown += 1;
        }
      }
      deps.metrics.failoverCancels.inc({ outcome: "confirmed" }, summary.confirmed);
      deps.metrics.failoverCancels.inc({ outcome: "not_confirmed" }, summary.notConfirmed);
      deps.metrics.failoverCancels.inc({ outcome: "unknown" }, summary.unknown);

      await markFailoverUnconfirmed(db.pool, unconfirmed);
      if (confirmed.length > 0) {
        const result = await applyCancels(db.pool, confirmed, { maxAttempts: deps.maxAttempts });
        deps.publisher.publish(result.events);
        summary.reattempts = result.reattempts.length;
        await enqueueReattempts(result.reattempts);
      }
      logger.info(summary, "failover pass");
      return summary;
    },
  };

  /** After commit, as webhook-ingest does; a lost add is found again by the sweeper's reattempt pass. */
  async function enqueueReattempts(reattempts: { messageId: string; attempt: number; priority: number }[]): Promise<void> {
    if (reattempts.length === 0) return;
    const sends = reattempts.map((r) => ({ id: r.messageId, priority: r.priority, attempt: r.attempt }));
    await withTimeout(enqueueSends(deps.queue, sends), 3_000, "adding failover's new attempts' sms-send jobs").catch((err: unknown) =>
      logger.warn({ err, messageIds: sends.map((s) => s.id) }, "adding failover's new attempts failed; the sweeper adds them again"),
    );
  }
}
