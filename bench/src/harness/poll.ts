import { setTimeout as delay } from "node:timers/promises";

export type Progress = { done: number; total: number };

/**
 * Polls `read` until `done` reaches `total`. Gives up at `timeoutMs`, or sooner when `done` has
 * not moved for `stallMs` (a stuck pipeline need not burn the whole budget). An error from
 * `read` ends the wait at once: the benchmark polls its own endpoints, a failure is not "not yet".
 * Resolves with the last reading and whether it completed.
 */
export async function pollProgress<P extends Progress>(
  read: () => Promise<P>,
  opts: { timeoutMs: number; stallMs: number; intervalMs: number },
): Promise<P & { complete: boolean; why?: string }> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = await read();
  let movedAt = Date.now();
  while (last.done < last.total) {
    if (Date.now() > deadline) return { ...last, complete: false, why: `timed out after ${opts.timeoutMs / 1000} s` };
    if (Date.now() - movedAt > opts.stallMs) return { ...last, complete: false, why: `no progress for ${opts.stallMs / 1000} s` };
    await delay(opts.intervalMs);
    const next = await read();
    if (next.done !== last.done) movedAt = Date.now();
    last = next;
  }
  return { ...last, complete: true };
}
