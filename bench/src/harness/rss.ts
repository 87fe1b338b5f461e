import { readFileSync } from "node:fs";

export type RssSampler = {
  /** Stops sampling; the peak resident set per name, in MB (the larger of samples and VmHWM). */
  stop(): Record<string, number>;
};

function readKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process already exited
  }
}

/**
 * Samples VmRSS of each pid every `intervalMs` (Linux /proc), and reads VmHWM (the kernel's own
 * high-water mark, which catches spikes between samples) when stopped.
 */
export function sampleRss(pids: Partial<Record<string, number>>, intervalMs = 100): RssSampler {
  const entries = Object.entries(pids).filter((e): e is [string, number] => typeof e[1] === "number");
  const peakKb = new Map(entries.map(([name]) => [name, 0]));
  const sample = () => {
    for (const [name, pid] of entries) peakKb.set(name, Math.max(peakKb.get(name)!, readKb(pid, "VmRSS")));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries(entries.map(([name, pid]) => [name, Math.max(peakKb.get(name)!, readKb(pid, "VmHWM")) / 1024]));
    },
  };
}
