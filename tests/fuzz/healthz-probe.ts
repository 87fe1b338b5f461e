import { Worker } from "node:worker_threads";

export type ProbeSample = { app: string; startedAt: number; endedAt: number; ms: number; status: number; error?: string };

/** A service's probe, with what the control saw meanwhile. */
type JudgedSample = ProbeSample & {
  /** The slowest control probe overlapping this one: the machine's share of its latency. */
  controlMs: number;
  /** `ms` minus `controlMs`: the latency the service itself added. */
  excessMs: number;
};

export type ProbeWindow = {
  count: number;
  /** The probe with the most latency of the service's own (or a failure), if any. */
  worst: JudgedSample | undefined;
  /** Per app (the control included): median, 99th percentile and max, in ms. */
  byApp: Record<string, { count: number; p50: number; p99: number; max: number }>;
  /** Probes that failed, or whose own latency exceeded the bound. */
  late: JudgedSample[];
};

/**
 * Hits GET /healthz of each target back to back (one in flight per target) from a worker
 * thread, so that the measurement does not depend on the event loop it is measuring (the
 * services under test run on this process's main thread). A control server in the probe's
 * thread is probed the same way; a probe counts as late when its latency beyond the control's
 * at the same moment exceeds the bound, so a machine that stalls every thread (a shared,
 * loaded CI box) is not blamed on the service, while a stalled service loop still is.
 */
export function startHealthzProbe(targets: Record<string, string>, opts: { intervalMs?: number; timeoutMs?: number; boundMs: number }) {
  const worker = new Worker(new URL("./healthz-probe.worker.mjs", import.meta.url), {
    workerData: {
      targets: Object.fromEntries(Object.entries(targets).map(([app, base]) => [app, `${base}/healthz`])),
      intervalMs: opts.intervalMs ?? 20,
      timeoutMs: opts.timeoutMs ?? 10_000,
    },
  });
  let seq = 0;
  const ask = <T>(msg: Record<string, unknown>): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      const onMessage = (reply: { seq: number } & T) => {
        if (reply.seq !== id) return;
        worker.off("message", onMessage);
        worker.off("error", reject);
        resolve(reply);
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
      worker.postMessage({ ...msg, seq: id });
    });

  return {
    /** A point in time to measure from (epoch ms: both threads share the clock). */
    mark: () => Date.now(),
    /** Every probe that ended since `since`, waiting for those still in flight. */
    async since(since: number): Promise<ProbeWindow> {
      const { samples } = await ask<{ samples: ProbeSample[] }>({ type: "report", since });
      return summarize(samples, opts.boundMs);
    },
    async stop(): Promise<void> {
      await ask({ type: "stop" });
      await worker.terminate();
    },
  };
}

export type HealthzProbe = ReturnType<typeof startHealthzProbe>;

function summarize(samples: ProbeSample[], boundMs: number): ProbeWindow {
  const controls = samples.filter((s) => s.app === "control");
  const judged: JudgedSample[] = samples
    .filter((s) => s.app !== "control")
    .map((s) => {
      const overlapping = controls.filter((c) => c.startedAt <= s.endedAt && c.endedAt >= s.startedAt);
      const controlMs = Math.max(0, ...overlapping.map((c) => c.ms));
      return { ...s, controlMs, excessMs: s.ms - controlMs };
    });
  const bad = (s: JudgedSample) => s.status !== 200 || s.excessMs > boundMs;
  let worst: JudgedSample | undefined;
  for (const s of judged) if (!worst || (bad(s) && !bad(worst)) || (bad(s) === bad(worst) && s.excessMs > worst.excessMs)) worst = s;
  const byApp: ProbeWindow["byApp"] = {};
  for (const app of new Set(samples.map((s) => s.app))) {
    const ms = samples.filter((s) => s.app === app).map((s) => s.ms).sort((a, b) => a - b);
    const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!);
    byApp[app] = { count: ms.length, p50: at(0.5), p99: at(0.99), max: Math.round(ms[ms.length - 1]!) };
  }
  return { count: judged.length, worst, byApp, late: judged.filter(bad) };
}

/** One line for a failure message: the worst probe and the spread per app. */
export function describeWindow(w: ProbeWindow): string {
  const worst = w.worst
    ? `worst ${w.worst.app} /healthz: ${Math.round(w.worst.ms)} ms (the control took ${Math.round(w.worst.controlMs)} ms meanwhile), status ${w.worst.status}${w.worst.error ? ` (${w.worst.error})` : ""}, started ${new Date(w.worst.startedAt).toISOString()}`
    : "no probe ended";
  const spread = Object.entries(w.byApp)
    .map(([app, s]) => `${app}: n=${s.count} p50=${s.p50} p99=${s.p99} max=${s.max} ms`)
    .join("; ");
  return `${worst}; ${w.late.length} of ${w.count} probes late or failed; ${spread}`;
}
