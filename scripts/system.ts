/**
 * Starts the whole system as separate processes, exactly as `pnpm start` does (same list, same
 * command, bundles built first), on free ports, for the end-to-end test and the benchmarks.
 * Stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { freePort } from "@inboxerr/testing";
import { buildBundles } from "./build";
import { SERVICES, serviceCommand, type ServiceName } from "./services";

export type RunningSystem = {
  urls: Record<ServiceName, string>;
  env: NodeJS.ProcessEnv;
  /** Process id of each service started (all of them unless `only` picked some). */
  pids: Partial<Record<ServiceName, number>>;
  /** The last lines each service wrote, for diagnosing a failure. */
  logs(name?: ServiceName): string;
  /** SIGTERM to all; resolves with each exit code (null if it had to be killed). */
  stop(graceMs?: number): Promise<Record<string, number | null>>;
};

const root = resolve(import.meta.dirname, "..");

export type StartSystemOptions = {
  readyTimeoutMs?: number;
  /** Start only these services (the rest keep their ports, so urls and env still name them). */
  only?: readonly ServiceName[];
  /** Extra env for one service, over `env` (e.g. NODE_OPTIONS=--cpu-prof for a profile). */
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
};

/**
 * A free port for every service and the env that wires them together (the sender and
 * webhook-ingest find the simulator, the simulator calls webhook-ingest back), under `env`.
 */
export async function systemEnv(env: NodeJS.ProcessEnv): Promise<{ ports: Record<string, number>; env: NodeJS.ProcessEnv }> {
  const ports: Record<string, number> = {};
  for (const svc of SERVICES) ports[svc.port] = await freePort();
  return {
    ports,
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      SMSGATE_URL: `http://127.0.0.1:${ports.SIMULATOR_PORT}/3rdparty/v1`,
      PUBLIC_WEBHOOK_URL: `http://127.0.0.1:${ports.WEBHOOK_INGEST_PORT}/webhooks/sms-gate`,
      ...env,
    },
  };
}

export async function startSystem(env: NodeJS.ProcessEnv, opts: StartSystemOptions = {}): Promise<RunningSystem> {
  const selected = SERVICES.filter((s) => !opts.only || opts.only.includes(s.name));
  // Always from the current sources: a stale bundle would test yesterday's code.
  await buildBundles(selected.map((s) => s.name));
  const { ports, env: fullEnv } = await systemEnv(env);
  const urls = Object.fromEntries(SERVICES.map((s) => [s.name, `http://127.0.0.1:${ports[s.port]}`])) as Record<ServiceName, string>;
  const children = new Map<ServiceName, ChildProcess>();
  const logLines = new Map<ServiceName, string[]>();
  for (const svc of selected) {
    const childEnv = { ...fullEnv, ...opts.serviceEnv?.[svc.name] };
    const [bin, ...args] = serviceCommand(svc);
    const child = spawn(bin!, args, { cwd: resolve(root, svc.dir), env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    logLines.set(svc.name, lines);
    const keep = (chunk: Buffer) => {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    children.set(svc.name, child);
  }
  const system: RunningSystem = {
    urls,
    env: fullEnv,
    pids: Object.fromEntries([...children].flatMap(([name, child]) => (child.pid === undefined ? [] : [[name, child.pid]]))),
    logs: (name) =>
      [...logLines.entries()]
        .filter(([n]) => !name || n === name)
        .map(([n, lines]) => `--- ${n}\n${lines.slice(-40).join("\n")}`)
        .join("\n"),
    stop: async (graceMs = 30_000) => {
      const exits = await Promise.all(
        [...children.entries()].map(
          ([name, child]) =>
            new Promise<[string, number | null]>((res) => {
              if (child.exitCode !== null) return res([name, child.exitCode]);
              const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
              child.once("exit", (code) => (clearTimeout(t), res([name, code])));
              child.kill("SIGTERM");
            }),
        ),
      );
      return Object.fromEntries(exits);
    },
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (const svc of selected) {
    for (;;) {
      const child = children.get(svc.name)!;
      if (child.exitCode !== null) {
        await system.stop(1_000);
        throw new Error(`${svc.name} exited with ${child.exitCode} before it was ready\n${system.logs(svc.name)}`);
      }
      const ok = await fetch(`${urls[svc.name]}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) {
        await system.stop(1_000);
        throw new Error(`${svc.name} was not healthy in time\n${system.logs()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return system;
}
