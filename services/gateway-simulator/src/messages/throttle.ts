/**
 * A token bucket of `ratePerSecond` tokens refilled continuously, holding at most one
 * second's worth; 0 means unlimited. The clock is injectable so tests need not sleep.
 */
export function createThrottle(ratePerSecond: number, now: () => number = () => performance.now()) {
  let tokens = ratePerSecond;
  let last = now();
  let refusals = 0;
  return {
    /** Takes a token; false means this request is over the limit. */
    take(): boolean {
      if (ratePerSecond <= 0) return true;
      const t = now();
      tokens = Math.min(ratePerSecond, tokens + ((t - last) / 1000) * ratePerSecond);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      refusals += 1;
      return false;
    },
    /** Refusals so far; the send route alternates 429 and 503 on its parity. */
    refusals: () => refusals,
    reset(): void {
      tokens = ratePerSecond;
      last = now();
      refusals = 0;
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
