import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startSystem, type RunningSystem } from "../../../scripts/system";
import type { ServiceName } from "../../../scripts/services";
import type { Cleanup } from "./cleanup";
import { profilesIn, summarizeHeapProfile, summarizeProfile } from "./profile";

export type Services = {
  system: RunningSystem;
  /** Stops them (once; the cleanup calls it too), reporting abnormal exits and profiles. */
  shutdown: () => Promise<void>;
};

export type StageContext = {
  /** Multiplies every workload size (1 = the documented benchmark; smaller for a quick look). */
  scale: number;
  /** Profile the stage's services (V8 CPU profiler, preloaded) and summarise where the time went. */
  profile: boolean;
  cleanup: Cleanup;
  /** Lines printed with the stage (profiles, diagnostics). */
  log: (line: string) => void;
};

const profileRoot = new URL("../../profiles/", import.meta.url).pathname;
const profiler = new URL("./cpu-profiler.mjs", import.meta.url).pathname;

/**
 * Starts `only` of the services as separate processes (scripts/system.ts, as `pnpm start`
 * runs them) and registers their stop with the stage's cleanup. With --profile each (but the
 * simulator) runs with the CPU profiler preloaded, and its profile is summarised once it has exited.
 */
export async function startServices(
  ctx: StageContext,
  stage: string,
  env: NodeJS.ProcessEnv,
  only: readonly ServiceName[],
): Promise<Services> {
  const serviceEnv: Partial<Record<ServiceName, NodeJS.ProcessEnv>> = {};
  const dirs = new Map<ServiceName, string>();
  if (ctx.profile) {
    for (const name of only) {
      if (name === "gateway-simulator") continue;
      const dir = join(profileRoot, stage, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      dirs.set(name, dir);
      serviceEnv[name] = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${profiler}`.trim(), BENCH_PROFILE_DIR: dir };
    }
  }
  const system = await startSystem(env, { only, serviceEnv, readyTimeoutMs: 90_000 });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      const exits = await system.stop(20_000);
      const bad = Object.entries(exits).filter(([, code]) => code !== 0);
      if (bad.length > 0) ctx.log(`services exited abnormally: ${JSON.stringify(Object.fromEntries(bad))}\n${system.logs()}`);
      for (const [name, dir] of dirs) {
        const [cpu] = profilesIn(dir, ".cpuprofile");
        const [heap] = profilesIn(dir, ".heapprofile");
        if (!cpu) ctx.log(`${name}: no profile written (did it exit cleanly?)`);
        else ctx.log(`${name}:\n${summarizeProfile(cpu)}${heap ? `\n${summarizeHeapProfile(heap)}` : ""}`);
      }
    })());
  ctx.cleanup.defer(`stop ${only.join(", ")}`, stop);
  return { system, shutdown: stop };
}
