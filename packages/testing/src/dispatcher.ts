import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports";
import { waitFor } from "./wait-for";

export type DispatcherProcess = {
  url: string;
  child: ChildProcess;
  /** The last 20 KB it wrote, for a failure's message. */
  output: () => string;
  /** SIGTERM, then SIGKILL after graceMs; resolves with its exit code once it exited (null: killed). */
  stop: (graceMs?: number) => Promise<number | null>;
};

/**
 * services/webhook-dispatcher's real entry (src/main.ts, through tsx) as a child process, so a
 * test can kill -9 it mid-run. `env` carries DATABASE_URL, REDIS_URL, QUEUE_PREFIX, SECRETS_KEY
 * and any WEBHOOK_* setting; the port is a free one. Resolves once /healthz answers.
 */
export async function startDispatcher(env: Record<string, string>): Promise<DispatcherProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: fileURLToPath(new URL("../../../services/webhook-dispatcher/", import.meta.url)),
    env: { ...process.env, LOG_LEVEL: "warn", ...env, WEBHOOK_DISPATCHER_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`webhook-dispatcher exited with ${child.exitCode}:\n${output}`);
      return fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    },
    { timeoutMs: 60_000, message: "webhook-dispatcher answers /healthz" },
  );
  return {
    url,
    child,
    output: () => output,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      child.kill("SIGTERM");
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
