import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process, in clock ticks; 0 once it is gone. */
function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name (which may hold spaces): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Postgres backends serving `database` (their title names it), and Redis: the shared servers. */
function serverPids(database: string): Record<string, number[]> {
  const out: Record<string, number[]> = { postgres: [], redis: [] };
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const cmd = cmdline(pid);
    if (cmd.startsWith("postgres: ") && cmd.includes(` ${database} `)) out.postgres!.push(pid);
    else if (cmd.startsWith("redis-server")) out.redis!.push(pid);
  }
  return out;
}

/** CPU seconds each group used over a window, and the wall seconds the window lasted. */
export type CpuReading = { cpu: Record<string, number>; wallSeconds: number };

export type CpuMeter = { stop(): CpuReading };

/**
 * Where the CPU goes during a window: the named processes (services, the bench itself), and
 * the Postgres backends of the stage's database plus Redis, found at both ends of the window (a
 * backend born during it counts whole). Linux /proc only. Redis is shared with anything else
 * running on the machine, so its share is an upper bound.
 */
export function meterCpu(pids: Partial<Record<string, number>>, database: string): CpuMeter {
  const named = Object.entries(pids).filter((e): e is [string, number] => typeof e[1] === "number");
  const started = performance.now();
  const benchStart = process.cpuUsage();
  const at = new Map<number, number>();
  for (const [, pid] of named) at.set(pid, ticks(pid));
  for (const list of Object.values(serverPids(database))) for (const pid of list) at.set(pid, ticks(pid));
  return {
    stop() {
      const cpu: Record<string, number> = {};
      const delta = (pid: number) => Math.max(0, ticks(pid) - (at.get(pid) ?? 0)) / TICKS_PER_SECOND;
      for (const [name, pid] of named) cpu[name] = delta(pid);
      for (const [name, list] of Object.entries(serverPids(database))) cpu[name] = list.reduce((s, pid) => s + delta(pid), 0);
      const bench = process.cpuUsage(benchStart);
      cpu["bench runner"] = (bench.user + bench.system) / 1e6;
      return { cpu, wallSeconds: (performance.now() - started) / 1000 };
    },
  };
}

/** "CPU s per 1,000 <unit>: sender 0.62, postgres 0.45, … (1.7 of 2 CPUs busy over 52 s)". */
export function describeCpu(label: string, m: CpuReading, items: number, unit: string): string {
  const per = Object.entries(m.cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${((1000 * s) / Math.max(items, 1)).toFixed(2)}`)
    .join(", ");
  const busy = Object.values(m.cpu).reduce((a, b) => a + b, 0) / Math.max(m.wallSeconds, 0.001);
  return `${label}: CPU s per 1,000 ${unit}: ${per} (${busy.toFixed(2)} of ${availableParallelism()} CPUs busy over ${m.wallSeconds.toFixed(1)} s)`;
}

/** Adds up meter readings taken over several windows (e.g. requests interleaved with a baseline). */
export function sumCpu(readings: CpuReading[]): CpuReading {
  const cpu: Record<string, number> = {};
  for (const r of readings) for (const [name, s] of Object.entries(r.cpu)) cpu[name] = (cpu[name] ?? 0) + s;
  return { cpu, wallSeconds: readings.reduce((a, r) => a + r.wallSeconds, 0) };
}
