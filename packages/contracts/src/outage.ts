import { setTimeout as delay } from "node:timers/promises";
import { Worker, type Job } from "bullmq";
import { toJobError } from "./job-errors";

export type OutageGuardOptions = {
  /** Whether a job's error says the dependency cannot be reached (e.g. isDatabaseUnreachable). */
  isOutage: (err: unknown) => boolean;
  /** Resolves when the dependency answers (e.g. `select 1`), rejects when it does not. */
  probe: () => Promise<unknown>;
  /** Pause between probes while it is down (default 1 s). */
  probeIntervalMs?: number;
  onPause?: (err: unknown) => void;
  onResume?: (downMs: number) => void;
};

export type OutageGuard = {
  /** Wraps a processor: outage failures put the job back unspent, other errors are shortened. */
  wrap<T, R>(processor: (job: Job<T>, token?: string) => Promise<R>): (job: Job<T>, token?: string) => Promise<R>;
  /** The worker to pause and resume; call before it runs. */
  attach(worker: Worker): void;
  /** Whether the worker is paused for an outage now. */
  readonly paused: boolean;
  /** Stops probing and never resumes the worker again (its close() follows). */
  stop(): void;
};

/**
 * Backs a worker off as a whole while a dependency (Postgres) is down, instead of failing every
 * job: the first job whose error says "unreachable", confirmed by a failed probe, pauses this
 * worker; that job and every other one caught in flight go back to the queue without spending
 * an attempt (BullMQ's RateLimitError); a probe every second resumes the worker once the
 * dependency answers. An error the probe contradicts (the dependency answers at once) fails the
 * job as usual, so a misread error can never retry a job for ever without spending attempts.
 * Every other error reaches BullMQ short (toJobError): its message becomes the job's failedReason.
 */
export function createOutageGuard(opts: OutageGuardOptions): OutageGuard {
  const intervalMs = opts.probeIntervalMs ?? 1_000;
  let worker: Worker | undefined;
  let down: Promise<void> | null = null;
  let checking: Promise<boolean> | null = null;
  let stopped = false;

  const answers = () =>
    (checking ??= opts.probe().then(
      () => true,
      () => false,
    )).finally(() => (checking = null));

  function pause(err: unknown): void {
    if (down || stopped) return;
    opts.onPause?.(err);
    // Not waiting for the active jobs: this runs inside one of them.
    void worker?.pause(true);
    const since = Date.now();
    down = (async () => {
      while (!stopped) {
        await delay(intervalMs);
        if (!stopped && (await answers())) break;
      }
    })().finally(() => {
      down = null;
      if (stopped) return;
      worker?.resume();
      opts.onResume?.(Date.now() - since);
    });
  }

  return {
    wrap: (processor) => async (job, token) => {
      // Fetched in the moment before the pause took hold: straight back, untouched.
      if (down) throw Worker.RateLimitError();
      try {
        return await processor(job, token);
      } catch (err) {
        if (!opts.isOutage(err) || stopped) throw toJobError(err);
        if (!down && (await answers())) throw toJobError(err);
        pause(err);
        throw Worker.RateLimitError();
      }
    },
    attach(w) {
      worker = w;
    },
    get paused() {
      return down !== null;
    },
    stop() {
      stopped = true;
    },
  };
}
