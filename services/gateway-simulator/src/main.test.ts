import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "@inboxerr/testing";
import { describe, expect, it } from "vitest";

const cwd = fileURLToPath(new URL("..", import.meta.url));

describe("main", () => {
  it("serves on SIMULATOR_PORT and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd,
      env: { ...process.env, SIMULATOR_PORT: String(port), SMSGATE_PASSWORD: "pw", SMSGATE_WEBHOOK_SIGNING_KEY: "0123456789abcdef", LOG_LEVEL: "silent" },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok), { timeoutMs: 20_000 });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("on a taken SIMULATOR_PORT exits 78 with one line naming the port and the setting", async () => {
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, resolve));
    try {
      const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
        cwd,
        env: { ...process.env, SIMULATOR_PORT: String(port), SMSGATE_PASSWORD: "pw", SMSGATE_WEBHOOK_SIGNING_KEY: "0123456789abcdef", LOG_LEVEL: "silent" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      expect(code).toBe(78);
      expect(stderr).toBe(`gateway-simulator: port ${port} is in use (SIMULATOR_PORT); set another port to run a second replica locally, e.g. SIMULATOR_PORT=${port + 10}\n`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("refuses to start without its required configuration, exiting 78", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd,
      env: { ...process.env, SMSGATE_PASSWORD: "", SMSGATE_WEBHOOK_SIGNING_KEY: "" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(78);
    expect(stderr).toMatch(/SMSGATE_PASSWORD: is required/);
  });
});
