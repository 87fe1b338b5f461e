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
/**
 * After this many unknown answers in a row an account's gateway is taken as unreachable for
 * the pass: its other candidates count as unknown without a call, so a dead gateway costs a
 * few timeouts, not one per candidate.
 */
const UNKNOWN_IN_A_ROW = 3;

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

/** `unasked`: candidates not called (their gateway gave up answering, or shutdown); counted in `unknown` too. */
export type FailoverSummary = { asked: number; confirmed: number; notConfirmed: number; unknown: number; unasked: number; reattempts: number };

type Outcome = CancelResult["kind"];

/**
 * Failover (ADR 0022 step 3): asks the gateway to cancel what a dark phone accepted but never
 * sent, and moves only what it confirms cancelled to a new attempt. Anything else resends
 * nothing: the message shows `failover_unconfirmed` and a later pass asks again.
 */
export function createFailover(deps: FailoverDeps) {
  const { db, logger } = deps;
  const applyCancels = deps.applyCancels ?? applyConfirmedCancels;

  /**
   * One cancel, and what it proved. A 409 (no longer Pending) or no answer may hide a cancel
   * that did take: an earlier one whose answer was lost, or that the process died before
   * applying. The message's state at the gateway says which: `Cancelled` is confirmed.
   */
  async function ask(driver: GatewayDriver, a: FailoverCandidate, signal: AbortSignal): Promise<Outcome> {
    const result = await driver.cancel(a.attemptId);
    if (result.kind === "cancelled") return "cancelled";
    if (signal.aborted || !(result.kind === "unknown" || result.status === 409)) return logged(a, result.kind, { result });
    const held = await driver.messageState(a.attemptId);
    if (held.kind === "state" && held.state === "Cancelled") return "cancelled";
    // The gateway answered about the message after all (a state, or none: 404): not cancelled.
    const kind = held.kind === "unknown" ? result.kind : "not_cancelled";
    return logged(a, kind, { result, held });
  }

  function logged(a: FailoverCandidate, kind: Outcome, detail: object): Outcome {
    logger.info({ attemptId: a.attemptId, messageId: a.messageId, ...detail }, "failover cancel not confirmed");
    return kind;
  }

  /**
   * One account's cancels, CANCELS_PER_ACCOUNT at a time, until UNKNOWN_IN_A_ROW unknown
   * answers in a row or `signal`; the rest, like every candidate of an account whose driver
   * cannot be built, count as unknown without a call.
   */
  async function cancelAll(accountId: string, attempts: FailoverCandidate[], signal: AbortSignal) {
    const outcomes = new Map<string, Outcome>();
    const account = (await deps.fleet.get()).accounts.get(accountId);
    let driver: GatewayDriver;
    try {
      if (!account) throw new Error("account not in the fleet cache");
      driver = deps.drivers.driverFor(account);
    } catch (err) {
      logger.warn({ err, accountId, attempts: attempts.length }, "failover cannot reach this account's gateway; asking again later");
      return { outcomes, unasked: attempts };
    }
    const pending = [...attempts];
    let unknownInARow = 0;
    const lane = async () => {
      while (unknownInARow < UNKNOWN_IN_A_ROW && !signal.aborted) {
        const a = pending.shift();
        if (!a) return;
        const kind = await ask(driver, a, signal);
        outcomes.set(a.attemptId, kind);
        unknownInARow = kind === "unknown" ? unknownInARow + 1 : 0;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CANCELS_PER_ACCOUNT, pending.length) }, lane));
    if (pending.length > 0) {
      const why = signal.aborted ? "shutting down" : `${UNKNOWN_IN_A_ROW} unknown answers in a row`;
      logger.warn({ accountId, unasked: pending.length }, `failover stops asking this account's gateway for this pass (${why}); asking again later`);
    }
    return { outcomes, unasked: pending };
  }

  /** One account's pass: its cancels, then at once its writes, without waiting for slower accounts. */
  async function failoverAccount(accountId: string, attempts: FailoverCandidate[], signal: AbortSignal, summary: FailoverSummary) {
    const { outcomes, unasked } = await cancelAll(accountId, attempts, signal);
    for (const a of unasked) outcomes.set(a.attemptId, "unknown");
    const confirmed: string[] = [];
    const unconfirmed: string[] = [];
    const counts = { cancelled: 0, not_cancelled: 0, unknown: 0 };
    for (const [attemptId, kind] of outcomes) {
      (kind === "cancelled" ? confirmed : unconfirmed).push(attemptId);
      counts[kind] += 1;
    }
    summary.confirmed += counts.cancelled;
    summary.notConfirmed += counts.not_cancelled;
    summary.unknown += counts.unknown;
    summary.unasked += unasked.length;
    deps.metrics.failoverCancels.inc({ outcome: "confirmed" }, counts.cancelled);
    deps.metrics.failoverCancels.inc({ outcome: "not_confirmed" }, counts.not_cancelled);
    deps.metrics.failoverCancels.inc({ outcome: "unknown" }, counts.unknown);

    await markFailoverUnconfirmed(db.pool, unconfirmed);
    if (confirmed.length > 0) {
      const result = await applyCancels(db.pool, confirmed, { maxAttempts: deps.maxAttempts });
      deps.publisher.publish(result.events);
      summary.reattempts += result.reattempts.length;
      await enqueueReattempts(result.reattempts);
    }
  }

  return {
    /**
     * One pass. `signal` (shutdown) stops new calls: what is in flight finishes (bounded by
     * SMSGATE_TIMEOUT_MS), the rest counts as unknown and is asked again by a later pass.
     */
    async runOnce(signal: AbortSignal = new AbortController().signal): Promise<FailoverSummary> {
      // cancel_requested_at is written here, before any call: a crash mid-pass waits a pause
      // before asking again instead of hammering the gateway.
      const candidates = await claimFailoverCandidates(db.pool, {
        offlineAfterSeconds: deps.offlineAfterSeconds,
        failoverAfterSeconds: deps.failoverAfterSeconds,
        limit: CANDIDATES_PER_PASS,
      });
      const summary: FailoverSummary = { asked: candidates.length, confirmed: 0, notConfirmed: 0, unknown: 0, unasked: 0, reattempts: 0 };
      if (candidates.length === 0) return summary;

      const byAccount = new Map<string, FailoverCandidate[]>();
      for (const c of candidates) byAccount.set(c.accountId, [...(byAccount.get(c.accountId) ?? []), c]);
      // Every account finishes its writes even if another's fail; the pass then reports the first failure.
      const settled = await Promise.allSettled([...byAccount].map(([accountId, attempts]) => failoverAccount(accountId, attempts, signal, summary)));
      logger.info(summary, "failover pass");
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
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
