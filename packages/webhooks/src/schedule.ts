/**
 * When a failed delivery is next tried (ADR 0023): attempt n+1 waits schedule[n] seconds after
 * attempt n failed (n counting from 1), ±20% jitter so deliveries that failed together do not
 * retry together. Null when the schedule has run out: the delivery is `exhausted`.
 */
export function retryDelayMs(attemptsMade: number, schedule: readonly number[], random: () => number = Math.random): number | null {
  const seconds = schedule[attemptsMade];
  if (seconds === undefined) return null;
  const jitter = 1 + (random() * 2 - 1) * 0.2;
  return Math.round(seconds * 1000 * jitter);
}
