import { spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@inboxerr/testing";

const cwd = fileURLToPath(new URL("..", import.meta.url));
let taken: Server;
let port: number;

beforeAll(async () => {
  port = await freePort();
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(port, "0.0.0.0", resolve));
});
afterAll(() => new Promise((resolve) => taken.close(resolve)));

describe("main", () => {
  it("on a taken SENDER_PORT exits 78 with one line that says how to run a second replica, no stack trace", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd,
      env: { ...process.env, SENDER_PORT: String(port), SMSGATE_URL: "http://127.0.0.1:1/3rdparty/v1", SMSGATE_PASSWORD: "pw", LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(78);
    expect(stderr).toBe(`sender-worker: port ${port} is in use (SENDER_PORT); set another port to run a second replica locally, e.g. SENDER_PORT=${port + 10}\n`);
    expect(stdout).not.toMatch(/\bat /);
  });
});
