/**
 * The fuzzing client, run in its own worker thread (runFuzzInWorker). The services under
 * test live on the test's main thread; generating requests and building multi-megabyte
 * bodies here keeps that work off the event loop the /healthz probe measures.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import fc from "fast-check";
import { apiRequests, ingestRequests, type RealIds } from "./requests";
import { exercise, type Outcome, type Targets } from "./send";

export type FuzzOptions = {
  family: "api" | "ingest";
  ids: RealIds;
  targets: Targets;
  seed: number;
  numRuns: number;
  /** Requests in flight at once: each run sends this many. */
  concurrency: number;
  /** Collect every breach of the run instead of stopping at the first. */
  keepGoing: boolean;
};

/** One request as sent, to match a late /healthz probe with what was in flight. */
export type Sent = { startedAt: number; endedAt: number; bytes: number; line: string };

export type FuzzResult = { failure: string | null; sent: Sent[] };

const report = (bad: Outcome[]) => bad.map((o) => `${o.breach}\n${o.description}`).join("\n\n");

async function run(opts: FuzzOptions): Promise<FuzzResult> {
  const requests = opts.family === "api" ? apiRequests(opts.ids) : ingestRequests(opts.ids);
  const sent: Sent[] = [];
  const breaches: Outcome[] = [];
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(requests, { minLength: opts.concurrency, maxLength: opts.concurrency }), async (batch) => {
        const outcomes = await Promise.all(batch.map((r) => exercise(r, opts.targets)));
        for (const o of outcomes) sent.push({ startedAt: o.startedAt, endedAt: o.endedAt, bytes: o.bytes, line: fc.stringify(o.request) });
        const bad = outcomes.filter((o) => o.breach);
        if (bad.length === 0) return;
        if (!opts.keepGoing) throw new Error(`${report(bad)}\n\n(replay: FUZZ_SEED=${opts.seed})`);
        breaches.push(...bad);
      }),
      // No shrinking: every step would be more real requests, and the failure already names its request.
      { seed: opts.seed, numRuns: opts.numRuns, endOnFailure: true },
    );
  } catch (err) {
    // fast-check's message has the seed and counterexample; ours (the failing requests) is its cause.
    const cause = (err as Error).cause;
    return { failure: `${(err as Error).message}${cause instanceof Error ? `\n\n${cause.message}` : ""}`, sent };
  }
  const failure = breaches.length ? `${breaches.length} breaches with FUZZ_SEED=${opts.seed}:\n\n${report(breaches)}` : null;
  return { failure, sent };
}

/** Runs the property in a fresh worker thread and resolves with its verdict. */
export function runFuzzInWorker(opts: FuzzOptions): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./fuzz-worker.mjs", import.meta.url), { workerData: opts });
    worker.once("message", (result: FuzzResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the fuzz worker exited (code ${code}) without a verdict`)));
  });
}

if (parentPort && (workerData as FuzzOptions | undefined)?.family) {
  const port = parentPort;
  void run(workerData as FuzzOptions).then((result) => port.postMessage(result));
}
