/**
 * The five services as separate processes, started the way `pnpm start` and scripts/system.ts
 * start them (same list, same command, bundles built first), with what a chaos test needs on
 * top: replicas of a service, SIGKILL and restart of one process, and a record of every exit,
 * so "no service exited by itself" can be asserted. A process that exits by itself is started
 * again, as an orchestrator would: the run goes on, so one crash does not hide what else broke.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { freePort, waitFor } from "@inboxerr/testing";
import { buildBundles } from "../../scripts/build";
import { SERVICES, serviceCommand, type ServiceName } from "../../scripts/services";
import { systemEnv } from "../../scripts/system";

const root = resolve(import.meta.dirname, "../..");

type Service = (typeof SERVICES)[number];

/** One process of a service: `sender-worker#2` is the second replica. */
type Proc = {
  label: string;
  svc: Service;
  env: NodeJS.ProcessEnv;
  url: string;
  child: ChildProcess;
  lines: string[];
};

type Exit = { label: string; pid: number; code: number | null; signal: NodeJS.Signals | null; killedByTest: boolean };

export type Fleet = {
  /** The first replica's base URL of each service. */
  urls: Record<ServiceName, string>;
  labels(): string[];
  /** SIGKILL the process, wait for its exit, start it again (same port, same env) and wait until healthy. */
  killAndRestart(label: string): Promise<void>;
  /** SIGSTOP (a process that hangs: no exit, no progress) or SIGCONT. */
  freeze(label: string, frozen: boolean): void;
  /** Every exit so far; `killedByTest` tells the test's kills from deaths of their own. */
  exits(): Exit[];
  /** The last lines each process wrote (each cut to 400 characters: stack traces run long). */
  logs(lines?: number): string;
  /** SIGTERM to all; resolves with each label's exit code (null if it had to be SIGKILLed). */
  stop(graceMs?: number): Promise<Record<string, number | null>>;
};

export async function startFleet(env: NodeJS.ProcessEnv, replicas: Partial<Record<ServiceName, number>> = {}): Promise<Fleet> {
  await buildBundles(SERVICES.map((s) => s.name));
  const { ports, env: base } = await systemEnv(env);
  const procs = new Map<string, Proc>();
  const exits: Exit[] = [];
  const killing = new Set<ChildProcess>();
  let stopping = false;

  const spawnProc = (p: Omit<Proc, "child">): Proc => {
    const [bin, ...args] = serviceCommand(p.svc);
    const child = spawn(bin!, args, { cwd: resolve(root, p.svc.dir), env: p.env, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk: Buffer) => {
      p.lines.push(...chunk.toString().split("\n").filter(Boolean));
      if (p.lines.length > 300) p.lines.splice(0, p.lines.length - 300);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.once("exit", (code, signal) => {
      const killedByTest = killing.has(child);
      exits.push({ label: p.label, pid: child.pid ?? -1, code, signal, killedByTest });
      p.lines.push(`[fleet] ${p.label} (pid ${child.pid}) exited: code ${code}, signal ${signal}`);
      // Bounded: a service that cannot stay up must not respawn for ever.
      if (!killedByTest && !stopping && exits.filter((e) => e.label === p.label && !e.killedByTest).length <= 5) {
        p.lines.push(`[fleet] ${p.label} exited by itself; starting it again`);
        spawnProc(p);
      }
    });
    const proc = { ...p, child };
    procs.set(p.label, proc);
    return proc;
  };

  const healthy = async (proc: Proc) => {
    const state = await waitFor(
      async () => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) return "exited";
        return (await fetch(`${proc.url}/healthz`).then((r) => r.ok, () => false)) && "up";
      },
      { timeoutMs: 90_000, intervalMs: 200, message: `${proc.label} healthy` },
    );
    if (state === "exited") throw new Error(`${proc.label} exited before it was ready\n${proc.lines.slice(-40).join("\n")}`);
  };

  const stop = async (graceMs = 30_000) => {
    stopping = true;
    const codes = await Promise.all(
      [...procs.values()].map(async ({ label, child }): Promise<[string, number | null]> => {
        if (child.exitCode !== null || child.signalCode !== null) return [label, child.exitCode];
        const exited = once(child, "exit");
        const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
        child.kill("SIGCONT"); // a frozen process would hold the SIGTERM until the grace ran out
        child.kill("SIGTERM");
        const [code] = (await exited) as [number | null];
        clearTimeout(t);
        return [label, code];
      }),
    );
    return Object.fromEntries(codes);
  };

  const urls = Object.fromEntries(SERVICES.map((s) => [s.name, `http://127.0.0.1:${ports[s.port]}`])) as Record<ServiceName, string>;
  try {
    for (const svc of SERVICES) {
      for (let i = 1; i <= (replicas[svc.name] ?? 1); i++) {
        // A replica of a worker needs its own port for health and Prometheus.
        const port = i === 1 ? ports[svc.port]! : await freePort();
        const proc = spawnProc({
          label: `${svc.name}#${i}`,
          svc,
          env: { ...base, [svc.port]: String(port) },
          url: `http://127.0.0.1:${port}`,
          lines: [],
        });
        await healthy(proc);
      }
    }
  } catch (err) {
    await stop(1_000);
    throw err;
  }

  const find = (label: string): Proc => {
    const proc = procs.get(label);
    if (!proc) throw new Error(`no process ${label}; have ${[...procs.keys()].join(", ")}`);
    return proc;
  };

  const logs = (lines = 40) =>
    [...procs.values()].map((p) => `--- ${p.label} (pid ${p.child.pid})\n${p.lines.slice(-lines).map((l) => l.slice(0, 400)).join("\n")}`).join("\n");

  return {
    urls,
    labels: () => [...procs.keys()],
    exits: () => [...exits],
    logs,
    stop,
    freeze(label, frozen) {
      find(label).child.kill(frozen ? "SIGSTOP" : "SIGCONT");
    },
    async killAndRestart(label) {
      const proc = find(label);
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        killing.add(proc.child);
        const exited = once(proc.child, "exit");
        proc.child.kill("SIGKILL");
        await exited;
      }
      await healthy(spawnProc({ label, svc: proc.svc, env: proc.env, url: proc.url, lines: proc.lines }));
    },
  };
}
