import type { Logger } from "@inboxerr/logger";

export type Schedule = {
  /** Stops scheduling and waits for a pass in progress. */
  stop: () => Promise<void>;
};

/**
 * Runs `pass` every `intervalMs`, the next one timed from the end of the last, so passes
 * never overlap; stop() aborts the pass's signal. A failed pass (Postgres restarting) is
 * logged, and the next one retries.
 */
export function every(intervalMs: number, pass: (signal: AbortSignal) => Promise<unknown>, logger: Logger): Schedule {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const stopping = new AbortController();
  const tick = () => {
    running = pass(stopping.signal)
      .then(
        () => undefined,
        (err: unknown) => logger.warn({ err }, "reconcile pass failed; retrying next interval"),
      )
      .finally(() => {
        running = undefined;
        if (!stopping.signal.aborted) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
