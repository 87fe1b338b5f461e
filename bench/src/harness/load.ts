import autocannon, { type Result } from "autocannon";
import type { WebhookSource } from "./webhooks";

export type LoadOptions = {
  url: string;
  source: WebhookSource;
  connections: number;
  /** Length of the run, seconds (ignored when `amount` is set). */
  durationSeconds?: number;
  /** Stop after this many requests instead. */
  amount?: number;
  /** Offered load across all connections, requests/s (autocannon overallRate); unset = as fast as answered. */
  overallRate?: number;
  /** Hard stop for `amount` runs, ms (default 60 s). */
  maxMs?: number;
};

/** One autocannon run in this process. An `amount` run is stopped at `maxMs` whatever happens. */
export function runLoad(opts: LoadOptions): Promise<Result> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        timeout: 10,
        requests: [{ setupRequest: opts.source.setupRequest }],
        ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
        ...(opts.amount ? { amount: opts.amount } : { duration: opts.durationSeconds ?? 10 }),
      },
      (err, result) => {
        clearTimeout(timer);
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(result);
      },
    );
    if (opts.amount) timer = setTimeout(() => instance.stop(), opts.maxMs ?? 60_000);
  });
}

/** Responses per second with a 2xx status. */
export const okPerSecond = (r: Result): number => r["2xx"] / r.duration;
