import { autoPauseSenders, markSendersOffline, markSendersOnline, type SenderChange } from "@inboxerr/db";
import { createFailover, type FailoverDeps, type FailoverSummary } from "./failover";

/**
 * How often the pass runs: a tenth of SENDER_OFFLINE_AFTER_SECONDS, within 1..30 s, so a dark
 * phone is noticed at most ~10% late and a healthy fleet costs three small statements a run.
 */
export function healthIntervalMs(offlineAfterSeconds: number): number {
  return Math.min(30, Math.max(1, offlineAfterSeconds / 10)) * 1_000;
}

export type HealthPassSummary = { offline: SenderChange[]; online: SenderChange[]; paused: SenderChange[]; failover: FailoverSummary };

/**
 * The health pass (ADR 0022), run by one replica at a time under the `senderHealth` advisory
 * lock: offline/online, then automatic pause, then failover, in that order, so a sender that
 * just went dark has its accepted messages asked about in the same pass.
 */
export function createHealthPass(deps: FailoverDeps) {
  const { db, logger, offlineAfterSeconds } = deps;
  const failover = createFailover(deps);

  return {
    /** `signal` (shutdown) cuts failover short; see createFailover. */
    async runOnce(signal?: AbortSignal): Promise<HealthPassSummary> {
      const offline = await markSendersOffline(db.pool, offlineAfterSeconds);
      const online = await markSendersOnline(db.pool, offlineAfterSeconds);
      const paused = await autoPauseSenders(db.pool);
      for (const s of offline) logger.warn({ senderId: s.senderId, accountId: s.accountId }, "sender unseen: offline");
      for (const s of online) logger.info({ senderId: s.senderId, accountId: s.accountId }, "sender seen again: active");
      for (const s of paused) logger.warn({ senderId: s.senderId, accountId: s.accountId, reason: s.pausedReason }, "sender paused automatically");
      deps.metrics.sendersAutoPaused.inc(paused.length);
      return { offline, online, paused, failover: await failover.runOnce(signal) };
    },
  };
}
