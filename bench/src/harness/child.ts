import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Cleanup } from "./cleanup";

/**
 * A baseline server (a script of bench/src/baselines/) in a process of its own, so it shares
 * no event loop with the bench or what it is compared with. The script prints `listening
 * <port>` once bound and exits on SIGTERM; `cleanup` stops it (SIGKILL after 5 s). Callers
 * pass `new URL("../baselines/x.ts", import.meta.url)` as a literal, which knip follows.
 */
export async function startChildServer(scriptUrl: URL, cleanup: Cleanup): Promise<{ port: number; pid: number | undefined }> {
  const script = scriptUrl.pathname.split("/").pop()!;
  const child = spawn(process.execPath, ["--import", "tsx", scriptUrl.pathname], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanup.defer(`stop ${script}`, async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${script} did not start in 30 s`)), 30_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (!m) return;
      clearTimeout(t);
      resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { port, pid: child.pid };
}
