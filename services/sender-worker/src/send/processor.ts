import { DelayedError, UnrecoverableError, type Job, type Queue } from "bullmq";
import { smsSendJobSchema, type SmsSendJob } from "@inboxerr/contracts";
import type { ClaimRow } from "@inboxerr/db";
import type { GatewayDriver, SendResult } from "@inboxerr/gateway";
import type { Logger } from "@inboxerr/logger";
import type { SenderInstruments } from "../prometheus";
import type { Budgets } from "../route/budget-types";
import { AccountDriverError, type AccountDrivers } from "../route/drivers";
import type { FleetCache } from "../route/fleet-cache";
import type { StatusBatcher } from "./batcher";
import type { AttemptTarget } from "./claim";
import { enqueueAttempts } from "./enqueue";

/** How long an account is throttled after a 429/503 that named no Retry-After. */
const DEFAULT_THROTTLE_MS = 1_000;
/** Spread of a delayed job's wake-up, so jobs that waited together do not all wake at once. */
const JITTER_MS = 250;

export type SendProcessorDeps = {
  batcher: StatusBatcher;
  /** The env's SMSGATE_* driver: the `default` account's, and the implicit sender's. */
  driver: GatewayDriver;
  /** The `sms-send` queue: a refused attempt with attempts left adds the next attempt's job. */
  queue: Queue<SmsSendJob>;
  metrics: SenderInstruments;
  logger: Logger;
  /** SMSGATE_DEVICE_ID / SMSGATE_SIM_NUMBER: the implicit sender's device. */
  deviceId?: string;
  simNumber?: number;
  /** SEND_MAX_ATTEMPTS. */
  maxAttempts: number;
  /** The fleet's drivers and budgets; absent = the env driver for everything (part 1). */
  routing?: { fleet: FleetCache; drivers: AccountDrivers; budgets: Budgets };
};

/** Thrown for an answer that may succeed later: BullMQ retries it with backoff. */
class TransientSendError extends Error {
  override name = "TransientSendError";
}

/**
 * One job = one message = at most one gateway request per attempt (invariant 2). Resolves with
 * what happened, for the job's return value; throws TransientSendError to let BullMQ retry with
 * backoff, DelayedError after moving the job back to the delayed set without spending a job
 * attempt (early, waiting for a sender, throttled), or UnrecoverableError to stop.
 */
export function createSendProcessor(deps: SendProcessorDeps) {
  return async (job: Job<SmsSendJob>, token?: string): Promise<string> => {
    const parsed = smsSendJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`not an sms-send job: ${parsed.error.message}`);
    // The job's log fields go on its few log lines by hand, not through withLogContext: that
    // context is an AsyncLocalStorage, whose first use installs promise hooks for the whole
    // process (every promise then pays for them: 13 KB allocated per message in the drain).
    return processSend(deps, job, token, parsed.data.messageId);
  };
}

async function processSend(deps: SendProcessorDeps, job: Job<SmsSendJob>, token: string | undefined, messageId: string): Promise<string> {
  const claim = await deps.batcher.claim(messageId);
  if (claim.kind === "early") {
    // Never before its time: back to the delayed set until then, spending no attempt.
    deps.logger.info({ jobId: job.id, messageId, until: claim.until.toISOString() }, "scheduled message dequeued early; delaying its job");
    await job.moveToDelayed(claim.until.getTime(), token);
    throw new DelayedError();
  }
  if (claim.kind === "wait") {
    // No sender may take it now: sleep until one may, spending nothing (ADR 0019).
    deps.metrics.sends.inc({ result: "waiting" });
    deps.logger.debug({ jobId: job.id, messageId, reason: claim.reason, until: claim.until.toISOString() }, "no sender for it now; delaying its job");
    await job.moveToDelayed(claim.until.getTime() + Math.floor(Math.random() * JITTER_MS), token);
    throw new DelayedError();
  }
  if (claim.kind === "skip") {
    deps.logger.debug({ jobId: job.id, messageId, status: claim.status }, "nothing to send");
    return `skipped:${claim.status ?? "missing"}`;
  }
  if (claim.kind === "expired") {
    deps.metrics.sends.inc({ result: "expired" });
    return "expired";
  }

  const { message, target } = claim;
  let driver: GatewayDriver;
  try {
    driver = await driverFor(deps, target);
  } catch (err) {
    if (!(err instanceof AccountDriverError)) throw err;
    // Not the gateway's answer: the attempt stays `sending` and the job retries (an admin may fix the key).
    throw new TransientSendError(err.message);
  }
  // The implicit sender is the env's device; a real sender names its own (its SIM may be the default, NULL).
  const deviceId = target.senderId ? target.deviceId : (deps.deviceId ?? null);
  const simNumber = target.senderId ? target.simNumber : (deps.simNumber ?? null);
  const stopTimer = deps.metrics.gatewayDuration.startTimer();
  const result = await driver.send({
    id: target.id,
    to: message.to,
    text: message.text,
    priority: message.priority,
    validUntil: message.validUntil,
    ...(deviceId ? { deviceId } : {}),
    ...(simNumber !== null ? { simNumber } : {}),
  });
  stopTimer({ result: result.kind });
  return record(deps, job, token, message, claim.attempt, target, result);
}

async function driverFor(deps: SendProcessorDeps, target: AttemptTarget): Promise<GatewayDriver> {
  if (!deps.routing || target.accountId === null) return deps.driver;
  const account = (await deps.routing.fleet.get()).accounts.get(target.accountId);
  if (!account) throw new AccountDriverError(`the attempt's gateway account ${target.accountId} is gone`);
  return deps.routing.drivers.driverFor(account);
}

/** Puts the job back to the delayed set until `at` (plus jitter), spending no job attempt. */
async function delayJob(job: Job<SmsSendJob>, token: string | undefined, at: number): Promise<never> {
  await job.moveToDelayed(at + Math.floor(Math.random() * JITTER_MS), token);
  throw new DelayedError();
}

async function record(
  deps: SendProcessorDeps,
  job: Job<SmsSendJob>,
  token: string | undefined,
  message: ClaimRow,
  attempt: number,
  target: AttemptTarget,
  result: SendResult,
): Promise<string> {
  const { batcher, metrics, logger } = deps;
  const messageId = message.id;
  const attemptId = target.id;
  // What withLogContext used to add to every line: built only when a line is written.
  const fields = () => ({ jobId: job.id, messageId, attemptId, senderId: target.senderId ?? undefined });
  switch (result.kind) {
    case "accepted": {
      metrics.sends.inc({ result: result.duplicate ? "duplicate" : "accepted" });
      const gateway = { status: result.status, state: result.state, duplicate: result.duplicate, attempt, attemptId };
      // False when a webhook (sms:sent...) overtook us: the message is already further along.
      await batcher.finish({ messageId, to: "accepted", payload: { gateway }, attempt: { attemptId, to: "accepted" } });
      return result.duplicate ? "accepted:duplicate" : "accepted";
    }
    case "throttled": {
      const waitMs = result.retryAfterMs ?? DEFAULT_THROTTLE_MS;
      // This account only: the other accounts' senders go on (ADR 0019); routing skips its senders until then.
      if (deps.routing && target.accountId) await deps.routing.budgets.throttleAccount(target.accountId, waitMs);
      // This call was refused, so if it was the attempt's first (a fresh attempt) the gateway
      // does not have it and it can expire unsent. After an earlier unanswered call of the same
      // attempt, the next send's answer (409 or not) has to decide instead.
      const late = message.validUntil !== null && message.validUntil.getTime() <= Date.now() + waitMs;
      if (late && target.fresh && message.status !== "accepted") {
        metrics.sends.inc({ result: "expired" });
        const error = `validUntil passed while the gateway was throttling (${result.reason})`;
        await batcher.finish({ messageId, to: "expired", error, attempt: { attemptId, to: "failed", error } });
        return "expired";
      }
      metrics.sends.inc({ result: "throttled" });
      // A fresh attempt's row is taken back (it never reached the gateway) and the message routes
      // again when the job wakes, maybe through another account; a retried one keeps its id.
      await batcher.refused(messageId, target.fresh ? attemptId : null);
      logger.info({ ...fields(), waitMs, status: result.status, accountId: target.accountId }, "gateway throttled; delaying this job");
      // Through an account: route again at once (the budgets now skip its senders, or say how
      // long to wait). The implicit env sender has nowhere else to go: wait out the throttle.
      return delayJob(job, token, deps.routing && target.accountId ? Date.now() : Date.now() + waitMs);
    }
    case "permanent": {
      metrics.sends.inc({ result: "permanent" });
      const payload = { gateway: { status: result.status, attempt, attemptId } };
      // Only a fresh attempt's first call: its refusal means the gateway never had this id.
      // A retried call's earlier one may have reached it (and a phone): a new attempt, under a
      // new id, could send the message twice, so it fails instead (at most once, as in part 1).
      // This attempt counts; the message's cancelled ones do not (ADR 0022).
      if (target.fresh && message.countedRows + 1 < deps.maxAttempts) {
        // The gateway refused this attempt; it never reached a phone, so a new attempt (new id,
        // maybe another sender) cannot send it twice. Its job is added after the commit; the
        // sweeper adds it again should this add be lost.
        await batcher.finish({ messageId, payload, attempt: { attemptId, to: "failed", error: result.reason } });
        await enqueueAttempts(deps.queue, [{ id: messageId, priority: message.priority, n: target.n + 1 }]);
        logger.info({ ...fields(), reason: result.reason, n: target.n }, "gateway refused the attempt; trying again with a new one");
        return "refused:again";
      }
      await batcher.finish({ messageId, to: "failed", error: result.reason, payload, attempt: { attemptId, to: "failed", error: result.reason } });
      throw new UnrecoverableError(result.reason);
    }
    case "transient": {
      metrics.sends.inc({ result: "transient" });
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= attempts) {
        const error = `gateway did not take it after ${attempts} attempts: ${result.reason}`;
        await batcher.finish({
          messageId,
          to: "failed",
          error,
          payload: { gateway: { status: result.status, attempt, attemptId } },
          attempt: { attemptId, to: "failed", error },
        });
        throw new UnrecoverableError(error);
      }
      throw new TransientSendError(result.reason);
    }
  }
}
