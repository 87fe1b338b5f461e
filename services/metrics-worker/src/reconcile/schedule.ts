import type { Logger } from "@inboxerr/logger";

export type Schedule = {
  /** Stops scheduling and waits for a pass in progress. */
  stop: () => Promise<void>;
};

/**
 * Runs `pass` every `intervalMs`, the next one timed from the end of the last, so passes
 * never overlap. A failed pass (Postgres restarting) is logged and the next one retries.
 */
export function every(intervalMs: number, pass: () => Promise<unknown>, logger: Logger): Schedule {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    running = pass()
      .then(
        () => undefined,
        (err: unknown) => logger.warn({ err }, "reconcile pass failed; retrying next interval"),
      )
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
