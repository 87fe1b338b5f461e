import { setMaxListeners } from "node:events";
import { signWebhook } from "@inboxerr/gateway";
import type { Logger } from "@inboxerr/logger";
import type { SimulatorInstruments } from "../prometheus";
import { Fifo } from "./fifo";
import { createPoster } from "./post";

export type DispatcherOptions = {
  /** Signs jobs that bring no key of their own. */
  signingKey: string;
  logger: Logger;
  metrics: SimulatorInstruments;
  /** First retry delay; doubles per failed attempt up to maxBackoffMs. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Per attempt; the real phone gives a receiver 30 s. */
  timeoutMs: number;
  /** Caps open sockets: a burst of 50,000 events must not mean 50,000 connections. */
  maxInFlight: number;
  /** Caps memory: events beyond this backlog (queued + retrying + in flight) are dropped. */
  maxPending: number;
};

/** `signingKey` is the account's, when it has its own. */
export type WebhookJob = { url: string; event: string; body: string; signingKey?: string };
type Job = WebhookJob & { attempts: number };

export type DeliveryStats = {
  queued: number;
  inFlight: number;
  retrying: number;
  delivered: number;
  failedAttempts: number;
  dropped: number;
};

/**
 * Delivers signed webhook events like the phone does: POST the JSON with X-Signature and
 * X-Timestamp, retry with exponential backoff until a 2xx. Each attempt is signed afresh
 * (a retry hours later must still pass the receiver's ±300 s window); the body, and so the
 * envelope id receivers deduplicate on, never changes.
 */
export function createDispatcher(opts: DispatcherOptions) {
  const poster = createPoster(opts.maxInFlight);
  const queue = new Fifo<Job>();
  const retryTimers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let delivered = 0;
  let failedAttempts = 0;
  let dropped = 0;
  let closed = false;
  // Replaced on clear(): attempts of an older epoch must not touch the new counters.
  let epoch = newEpoch();

  const pending = () => queue.size + retryTimers.size + inFlight;

  function enqueue(job: WebhookJob): boolean {
    if (closed) return false;
    if (pending() >= opts.maxPending) {
      dropped += 1;
      opts.metrics.webhookDropped.inc();
      if (dropped === 1 || dropped % 1000 === 0) {
        opts.logger.warn({ dropped, maxPending: opts.maxPending }, "webhook backlog full, dropping events");
      }
      return false;
    }
    queue.push({ ...job, attempts: 0 });
    pump();
    return true;
  }

  function pump(): void {
    while (!closed && inFlight < opts.maxInFlight && queue.size > 0) {
      const job = queue.shift() as Job;
      inFlight += 1;
      void attempt(job, epoch);
    }
  }

  async function attempt(job: Job, current: AbortController): Promise<void> {
    job.attempts += 1;
    const bytes = Buffer.from(job.body, "utf8");
    const timestamp = String(Math.floor(Date.now() / 1000));
    let failure: string | null = null;
    try {
      const headers = {
        "content-type": "application/json",
        "x-signature": signWebhook(job.signingKey ?? opts.signingKey, bytes, timestamp),
        "x-timestamp": timestamp,
      };
      const status = await poster.post(job.url, headers, bytes, opts.timeoutMs, current.signal);
      if (status < 200 || status > 299) failure = `HTTP ${status}`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    if (current !== epoch || closed) return;
    inFlight -= 1;
    opts.metrics.webhookAttempts.inc({ event: job.event, result: failure ? "failure" : "success" });
    if (failure === null) delivered += 1;
    else retryLater(job, failure);
    pump();
  }

  function retryLater(job: Job, failure: string): void {
    failedAttempts += 1;
    const delay = Math.min(opts.maxBackoffMs, opts.baseBackoffMs * 2 ** Math.min(job.attempts - 1, 30));
    const log = { url: safeUrl(job.url), event: job.event, attempts: job.attempts, failure, retryInMs: delay };
    if (job.attempts === 5) opts.logger.warn(log, "webhook still failing, retrying");
    else opts.logger.debug(log, "webhook attempt failed");
    const timer = setTimeout(() => {
      retryTimers.delete(timer);
      queue.push(job);
      pump();
    }, delay);
    retryTimers.add(timer);
  }

  /** Forgets every queued, retrying and in-flight event (for /simulator/reset). */
  function clear(): void {
    for (const t of retryTimers) clearTimeout(t);
    retryTimers.clear();
    queue.clear();
    epoch.abort();
    epoch = newEpoch();
    inFlight = 0;
    delivered = 0;
    failedAttempts = 0;
    dropped = 0;
  }

  return {
    enqueue,
    clear,
    stats(): DeliveryStats {
      return { queued: queue.size, inFlight, retrying: retryTimers.size, delivered, failedAttempts, dropped };
    },
    /** Stops for good: later events are refused and in-flight requests aborted. */
    close(): void {
      clear();
      closed = true;
      poster.destroy();
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;

/** Every in-flight request listens on this signal: up to maxInFlight listeners is normal. */
function newEpoch(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Origin and path only: receivers often carry a token in the query string. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "<invalid url>";
  }
}
