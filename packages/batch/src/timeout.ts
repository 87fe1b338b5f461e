/**
 * Rejects with "`what` did not finish within `ms` ms" once `ms` pass; settles as `promise` does
 * before that. The work itself is not cancelled, only no longer awaited: use it where a late
 * success is harmless (a publish by job id, a readiness probe, a close on shutdown). Where the
 * work takes a signal, pass it `AbortSignal.timeout` instead.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  // The race subscribes to `promise`, so its late rejection is never an unhandled one.
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Waits for `promise` at most `ms` ms, then goes on: resolves true if it fulfilled in time,
 * false if the bound passed first (the work goes on unawaited; a late rejection is handled).
 * Rejects as `promise` does before the bound. For "give it N ms, then force" on shutdown.
 */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([promise.then(() => true as const), bound]);
  } finally {
    clearTimeout(timer);
  }
}
