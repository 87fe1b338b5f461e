import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@inboxerr/logger";

export type RegistrationLoop = {
  /** Resolves true once registered, false if stopped first. */
  done: Promise<boolean>;
  /** Cancels a pending retry; an attempt in flight finishes on its own. */
  stop: () => void;
};

/**
 * Runs `register` until it succeeds, backing off exponentially with jitter between attempts
 * (the gateway may start after us, or a phone may be offline). Never blocks startup: the
 * service answers webhooks registered earlier meanwhile.
 */
export function startWebhookRegistration(opts: {
  register: () => Promise<unknown>;
  logger: Logger;
  /** Called with true after success, false after each failure (a gauge, a readiness flag). */
  onState?: (registered: boolean) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
}): RegistrationLoop {
  const controller = new AbortController();
  const initial = opts.initialDelayMs ?? 1_000;
  const max = opts.maxDelayMs ?? 60_000;

  const done = (async () => {
    for (let attempt = 1; !controller.signal.aborted; attempt++) {
      try {
        const result = await opts.register();
        opts.onState?.(true);
        opts.logger.info({ attempt, result }, "gateway webhooks registered");
        return true;
      } catch (err) {
        opts.onState?.(false);
        const base = Math.min(max, initial * 2 ** (attempt - 1));
        const delayMs = Math.round(base / 2 + Math.random() * (base / 2));
        opts.logger.warn({ err, attempt, retryInMs: delayMs }, "registering gateway webhooks failed; retrying");
        try {
          await sleep(delayMs, undefined, { signal: controller.signal });
        } catch {
          return false;
        }
      }
    }
    return false;
  })();
  return { done, stop: () => controller.abort() };
}

/**
 * Runs `pass` soon after boot (within `firstWithinMs`), then every `intervalMs` from the end of
 * the previous one: gateway accounts added later get their webhooks registered by the next
 * pass. A failed pass is logged and the schedule goes on.
 */
export function startPeriodicRegistration(opts: {
  pass: () => Promise<unknown>;
  intervalMs: number;
  logger: Logger;
  firstWithinMs?: number;
}): { stop: () => Promise<void> } {
  const controller = new AbortController();
  const done = (async () => {
    let delayMs = Math.random() * Math.min(opts.firstWithinMs ?? 5_000, opts.intervalMs);
    for (;;) {
      try {
        await sleep(delayMs, undefined, { signal: controller.signal });
      } catch {
        return;
      }
      try {
        const result = await opts.pass();
        opts.logger.debug({ result }, "gateway account webhook registration pass");
      } catch (err) {
        opts.logger.warn({ err }, "gateway account webhook registration pass failed");
      }
      delayMs = opts.intervalMs;
    }
  })();
  return {
    async stop() {
      controller.abort();
      await done;
    },
  };
}
