import { DelayedError, UnrecoverableError, Worker, type Job, type Queue } from "bullmq";
import { smsSendJobSchema, type SmsSendJob } from "@inboxerr/contracts";
import type { ClaimRow } from "@inboxerr/db";
import type { GatewayDriver, SendResult } from "@inboxerr/gateway";
import { withLogContext, type Logger } from "@inboxerr/logger";
import type { SenderInstruments } from "../prometheus";
import type { StatusBatcher } from "./batcher";

/** How long the whole queue pauses after a 429/503 that named no Retry-After. */
const DEFAULT_THROTTLE_MS = 1_000;

export type SendProcessorDeps = {
  batcher: StatusBatcher;
  driver: GatewayDriver;
  /** The `sms-send` queue: a gateway throttle pauses it for every worker of every replica. */
  queue: Queue<SmsSendJob>;
  metrics: SenderInstruments;
  logger: Logger;
  deviceId?: string;
  simNumber?: number;
};

/** Thrown for an answer that may succeed later: BullMQ retries it with backoff. */
class TransientSendError extends Error {
  override name = "TransientSendError";
}

/**
 * One job = one message = at most one gateway request per attempt (invariant 2). Resolves with
 * what happened, for the job's return value; throws to let BullMQ retry (transient), to put
 * the job back without spending an attempt (RateLimitError), or to stop (UnrecoverableError).
 */
export function createSendProcessor(deps: SendProcessorDeps) {
  return async (job: Job<SmsSendJob>, token?: string): Promise<string> => {
    const parsed = smsSendJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`not an sms-send job: ${parsed.error.message}`);
    const { messageId } = parsed.data;
    return withLogContext({ jobId: job.id, messageId }, () => processSend(deps, job, token, messageId));
  };
}

async function processSend(deps: SendProcessorDeps, job: Job<SmsSendJob>, token: string | undefined, messageId: string): Promise<string> {
  const claim = await deps.batcher.claim(messageId);
  if (claim.kind === "early") {
    // Never before its time: back to the delayed set until then, spending no attempt.
    deps.logger.info({ until: claim.until.toISOString() }, "scheduled message dequeued early; delaying its job");
    await job.moveToDelayed(claim.until.getTime(), token);
    throw new DelayedError();
  }
  if (claim.kind === "skip") {
    deps.logger.debug({ status: claim.status }, "nothing to send");
    return `skipped:${claim.status ?? "missing"}`;
  }
  if (claim.kind === "expired") {
    deps.metrics.sends.inc({ result: "expired" });
    return "expired";
  }

  const { message } = claim;
  const stopTimer = deps.metrics.gatewayDuration.startTimer();
  const result = await deps.driver.send({
    id: message.id,
    to: message.to,
    text: message.text,
    priority: message.priority,
    validUntil: message.validUntil,
    ...(deps.deviceId ? { deviceId: deps.deviceId } : {}),
    ...(deps.simNumber !== undefined ? { simNumber: deps.simNumber } : {}),
  });
  stopTimer({ result: result.kind });
  return record(deps, job, message, claim.attempt, result);
}

async function record(
  deps: SendProcessorDeps,
  job: Job<SmsSendJob>,
  message: ClaimRow,
  attempt: number,
  result: SendResult,
): Promise<string> {
  const { batcher, metrics, logger } = deps;
  const messageId = message.id;
  switch (result.kind) {
    case "accepted": {
      metrics.sends.inc({ result: result.duplicate ? "duplicate" : "accepted" });
      const gateway = { status: result.status, state: result.state, duplicate: result.duplicate, attempt };
      // False when a webhook (sms:sent...) overtook us: the message is already further along.
      await batcher.finish({ messageId, to: "accepted", payload: { gateway } });
      return result.duplicate ? "accepted:duplicate" : "accepted";
    }
    case "throttled": {
      const waitMs = result.retryAfterMs ?? DEFAULT_THROTTLE_MS;
      // This call was refused, so if no earlier call may have arrived (attempt 1: throttled
      // calls are taken back), the gateway does not have it and it can expire unsent. After an
      // earlier unanswered call, the next send's answer (409 or not) has to decide instead.
      const late = message.validUntil !== null && message.validUntil.getTime() <= Date.now() + waitMs;
      if (late && attempt === 1) {
        metrics.sends.inc({ result: "expired" });
        await batcher.finish({ messageId, to: "expired", error: `validUntil passed while the gateway was throttling (${result.reason})` });
        return "expired";
      }
      metrics.sends.inc({ result: "throttled" });
      await batcher.refused(messageId);
      logger.info({ waitMs, status: result.status }, "gateway throttled; pausing the send queue");
      // Global (a Redis key every worker checks before fetching); does not use up an attempt.
      await deps.queue.rateLimit(waitMs);
      throw Worker.RateLimitError();
    }
    case "permanent": {
      metrics.sends.inc({ result: "permanent" });
      await batcher.finish({ messageId, to: "failed", error: result.reason, payload: { gateway: { status: result.status, attempt } } });
      throw new UnrecoverableError(result.reason);
    }
    case "transient": {
      metrics.sends.inc({ result: "transient" });
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= attempts) {
        const error = `gateway did not take it after ${attempts} attempts: ${result.reason}`;
        await batcher.finish({ messageId, to: "failed", error, payload: { gateway: { status: result.status, attempt } } });
        throw new UnrecoverableError(error);
      }
      throw new TransientSendError(result.reason);
    }
  }
}
