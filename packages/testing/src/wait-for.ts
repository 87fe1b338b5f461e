import { setTimeout as delay } from "node:timers/promises";

export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What was awaited, for the timeout error. */
  message?: string;
}

type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

/**
 * Polls `fn` until it returns a truthy value and resolves with it. A throw counts as "not
 * yet" (the condition may depend on rows not written yet); the last one is reported on
 * timeout. Tests wait for conditions this way instead of sleeping a fixed time.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Truthy<Awaited<T>>> {
  const { timeoutMs = 10_000, intervalMs = 50, message = "condition" } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Truthy<Awaited<T>>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`waitFor timed out after ${timeoutMs} ms: ${message}${why}`, { cause: lastError });
    }
    await delay(Math.min(intervalMs, left));
  }
}
