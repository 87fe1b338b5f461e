/**
 * `pnpm bench [stage...] [--scale=<0..1>] [--profile]`: runs the benchmark stages (all by
 * default: ingest, drain, webhooks, e2e, fleet, webhooks-out), each against its own fresh database and queue prefix,
 * and prints every figure beside the baseline measured in the same run, with PASS/MISS per
 * target and a markdown summary for docs/benchmarks.md. Stops by itself: every wait is bounded,
 * and a watchdog ends the run (cleaning up) if it overruns.
 */
import { availableParallelism, loadavg } from "node:os";
import { Cleanup } from "./harness/cleanup";
import { describeMachine } from "./harness/machine";
import { formatStage, formatSummary, type StageResult } from "./harness/report";
import { dropStaleBenchDatabases, sweepOpenedPrefixes } from "./harness/scratch";
import type { StageContext } from "./harness/services";
import { drainStage } from "./stages/drain";
import { e2eStage } from "./stages/e2e";
import { fleetStage } from "./stages/fleet";
import { ingestStage } from "./stages/ingest";
import { webhooksStage } from "./stages/webhooks";
import { webhooksOutStage } from "./stages/webhooks-out";

const STAGES = {
  ingest: ingestStage,
  drain: drainStage,
  webhooks: webhooksStage,
  e2e: e2eStage,
  fleet: fleetStage,
  "webhooks-out": webhooksOutStage,
} as const;
type StageName = keyof typeof STAGES;

function parseArgs(argv: string[]): { stages: StageName[]; scale: number; profile: boolean } {
  const stages: StageName[] = [];
  let scale = 1;
  let profile = false;
  for (const arg of argv) {
    if (arg === "--") continue;
    if (arg === "--profile") profile = true;
    else if (arg.startsWith("--scale=")) scale = Number(arg.slice("--scale=".length));
    else if (arg === "end-to-end") stages.push("e2e");
    else if (arg in STAGES) stages.push(arg as StageName);
    else {
      console.error(`unknown argument ${arg}; usage: pnpm bench [${Object.keys(STAGES).join("|")}]... [--scale=0.1] [--profile]`);
      process.exit(64);
    }
  }
  if (!(scale > 0 && scale <= 1)) {
    console.error("--scale must be in (0, 1]");
    process.exit(64);
  }
  return { stages: stages.length > 0 ? stages : (Object.keys(STAGES) as StageName[]), scale, profile };
}

/** Set once the run is being stopped from outside; that path cleans up and owns the exit. */
let aborting: Promise<never> | undefined;

function abort(why: string, code: number): Promise<never> {
  aborting ??= (async () => {
    console.error(`bench: ${why}; cleaning up and stopping`);
    await Cleanup.runAll();
    await sweepOpenedPrefixes();
    process.exit(code);
  })();
  return aborting;
}

async function main(): Promise<number> {
  const { stages, scale, profile } = parseArgs(process.argv.slice(2));
  const budgetMs = Number(process.env.BENCH_TIMEOUT_MS ?? 15 * 60_000);
  const watchdog = setTimeout(() => abort(`over its ${Math.round(budgetMs / 1000)} s budget (BENCH_TIMEOUT_MS)`, 2), budgetMs);
  watchdog.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => abort(signal, 130));

  console.log(`# pnpm bench ${process.argv.slice(2).join(" ")}`.trim());
  console.log(`date: ${new Date().toISOString()}`);
  console.log(await describeMachine());
  if (scale !== 1) console.log(`scale: ${scale} (figures are not comparable with full runs)`);
  await dropStaleBenchDatabases().catch(() => undefined);

  const results: StageResult[] = [];
  let errors = 0;
  for (const name of stages) {
    if (aborting) break;
    const cleanup = new Cleanup();
    const ctx: StageContext = { scale, profile, cleanup, log: (line) => console.log(line) };
    console.log(`\n... ${name}`);
    const load = loadavg()[0]!.toFixed(2);
    try {
      const result = await STAGES[name](ctx);
      result.notes.unshift(`1-min load average: ${load} at the start, ${loadavg()[0]!.toFixed(2)} at the end (on ${availableParallelism()} CPUs)`);
      await cleanup.run();
      results.push(result);
      console.log(formatStage(result));
    } catch (err) {
      if (aborting) break; // the stage failed because its resources were being torn down
      errors += 1;
      console.error(`== ${name}: ERROR ${(err as Error).stack ?? String(err)}`);
      await cleanup.run();
    }
  }
  if (aborting) return aborting;
  console.log(`\n## Summary\n\n${formatSummary(results)}`);
  clearTimeout(watchdog);
  return errors > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    return abort("unexpected error", 1);
  },
);
