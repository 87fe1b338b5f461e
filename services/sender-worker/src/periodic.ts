import type { Logger } from "@inboxerr/logger";

/**
 * Runs `task` every `intervalMs`, never overlapping itself (the next run is timed from the end
 * of the previous one). A failed run is logged and the schedule goes on. The first run waits
 * a random part of the interval (or of `firstWithinMs`, for a task worth running soon after
 * boot), so replicas started together do not contend in lockstep. `task` gets a signal that
 * stop() aborts, for a long run to cut itself short.
 */
export function startPeriodic(name: string, intervalMs: number, task: (signal: AbortSignal) => Promise<unknown>, logger: Logger, firstWithinMs = intervalMs) {
  let stopped = false;
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  const tick = () => {
    timer = null;
    running = task(stopping.signal)
      .then(
        () => undefined,
        (err: unknown) => logger.error({ err, task: name }, "periodic task failed"),
      )
      .finally(() => {
        running = null;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, Math.random() * Math.min(firstWithinMs, intervalMs));

  return {
    /** Cancels the next run, aborts the current one's signal, and waits for it, if any. */
    async stop(): Promise<void> {
      stopped = true;
      stopping.abort();
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
