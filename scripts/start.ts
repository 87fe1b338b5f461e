/**
 * `pnpm start`: build the service bundles, migrate, then run every service (the simulator as
 * the gateway) in this terminal with one readable, interleaved log. Ctrl-C stops them all
 * cleanly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { buildBundles } from "./build";
import { MIGRATE_COMMAND, MIGRATE_DIR, SERVICES, serviceCommand } from "./services";
import { formatLine } from "./log-format";

const root = resolve(import.meta.dirname, "..");
// Variables already in the environment win over both files (process.loadEnvFile keeps them).
if (existsSync(resolve(root, ".env"))) {
  process.loadEnvFile(resolve(root, ".env"));
} else {
  // A first run needs no set-up step: the example's values are the development defaults.
  process.loadEnvFile(resolve(root, ".env.example"));
  process.stdout.write(formatLine("start", "no .env: running on the development defaults of .env.example (cp .env.example .env to change them)") + "\n");
}

const children = new Map<string, ChildProcess>();
let stopping = false;

function run(name: string, cwd: string, cmd: readonly string[]): ChildProcess {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: resolve(root, cwd), env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => process.stdout.write(formatLine(name, line) + "\n"));
  }
  return child;
}

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  process.stdout.write(formatLine("start", "stopping all services") + "\n");
  for (const child of children.values()) child.kill("SIGTERM");
  const force = setTimeout(() => {
    for (const child of children.values()) child.kill("SIGKILL");
  }, 30_000);
  force.unref();
  const wait = [...children.values()].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r))));
  void Promise.all(wait).then(() => process.exit(code));
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

try {
  const built = await buildBundles();
  process.stdout.write(formatLine("start", `built ${built.map((b) => b.name).join(", ")}`) + "\n");
} catch (err) {
  process.stdout.write(formatLine("start", `build failed, not starting: ${err instanceof Error ? err.message : String(err)}`) + "\n");
  process.exit(1);
}

const migrate = run("migrate", MIGRATE_DIR, MIGRATE_COMMAND);
migrate.on("exit", (code) => {
  if (code !== 0) {
    process.stdout.write(formatLine("start", `migration failed (exit ${code}); not starting services`) + "\n");
    process.exit(code ?? 1);
  }
  for (const svc of SERVICES) {
    const child = run(svc.name, svc.dir, serviceCommand(svc));
    children.set(svc.name, child);
    child.on("exit", (c, signal) => {
      if (stopping) return;
      process.stdout.write(formatLine("start", `${svc.name} exited (${signal ?? c}); stopping the rest`) + "\n");
      stopAll(1);
    });
  }
});
