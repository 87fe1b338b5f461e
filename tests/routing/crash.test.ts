/**
 * kill -9 of a sender-worker between claim and answer (issue #15): the gateway has the attempt,
 * the worker never learns it. The retry must send the same attempt (same id, same phone), which
 * the phone answers 409: one attempt row, one transmission.
 *
 * The worker that dies is the real process (src/main.ts), so SIGKILL is a real crash; a proxy
 * in front of the simulator passes the send on and holds the answer, so the kill lands after
 * the phone accepted it and before the worker heard.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRETS_KEY } from "@inboxerr/api/testing";
import { GATEWAY_CREDENTIALS } from "@inboxerr/sender-worker/testing";
import { freePort, waitFor } from "@inboxerr/testing";
import { ofAccounts, startPhoneFleet, type PhoneFleet } from "./harness";

let fleet: PhoneFleet;
let proxy: HoldingProxy;
let child: ChildProcess | undefined;
let output = "";

type HoldingProxy = { url: string; held: string[]; hold: boolean; close: () => Promise<void> };

/**
 * Forwards everything to `target`. While `hold` is set, a send is forwarded and its answer
 * kept back for ever (its id recorded in `held`): the phone has it, the caller never hears.
 */
async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const state: HoldingProxy = { url: "", held: [], hold: false, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "content-length", "connection", "transfer-encoding"].includes(k))) as Record<
        string,
        string
      >;
      const holding = state.hold && req.method === "POST" && /\/messages$/.test(req.url ?? "");
      fetch(target + req.url, { method: req.method, headers, ...(body.length > 0 ? { body } : {}) }).then(
        async (answer) => {
          const text = await answer.text();
          if (holding) {
            state.held.push(String((JSON.parse(body.toString()) as { id?: string }).id));
            return; // the answer never comes
          }
          res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" }).end(text);
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return state;
}

/** The real sender-worker process on the fleet's database and queues. */
async function spawnWorker(): Promise<ChildProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: fileURLToPath(new URL("../../services/sender-worker/", import.meta.url)),
    env: {
      ...process.env,
      DATABASE_URL: fleet.databaseUrl,
      REDIS_URL: fleet.redisUrl,
      QUEUE_PREFIX: fleet.prefix,
      SECRETS_KEY: TEST_SECRETS_KEY,
      // The env's `default` account: the simulator's primary login, which no test user routes
      // through (each has a private account, and a user with one uses only its own).
      SMSGATE_URL: fleet.gatewayUrl,
      SMSGATE_USERNAME: GATEWAY_CREDENTIALS.username,
      SMSGATE_PASSWORD: GATEWAY_CREDENTIALS.password,
      SMSGATE_DEVICE_ID: "",
      // Longer than the test: the held send must still be in flight when the kill comes.
      SMSGATE_TIMEOUT_MS: "120000",
      SENDER_PORT: String(port),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok), { timeoutMs: 60_000, message: `sender-worker answers /healthz\n${output}` });
  return proc;
}

beforeAll(async () => {
  fleet = await startPhoneFleet({ accounts: 0, replicas: 0 });
  proxy = await startHoldingProxy(fleet.simBase);
  child = await spawnWorker();
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  await fleet?.close();
  await proxy?.close();
}, 60_000);

describe("kill -9 between claim and answer", () => {
  it("retries the same attempt on the same phone, which answers 409: one attempt row, one send", async () => {
    const user = await fleet.api.user();
    // Through the proxy; no webhooks, so only the retry can move the message on.
    const account = await fleet.addPrivateAccount(user.token, { baseUrl: `${proxy.url}/3rdparty/v1`, webhooks: false });
    const own = ofAccounts(await fleet.senders(user.token), [account.id]);
    expect(own).toHaveLength(4);

    proxy.hold = true;
    const message = await fleet.send(user.token, { to: "+12025550142", text: "Crash between claim and answer" });
    await waitFor(() => proxy.held.length === 1, { timeoutMs: 30_000, message: `the phone accepted the send\n${output}` });
    const [claimed] = await fleet.attempts([message.id]);
    expect(claimed).toMatchObject({ id: proxy.held[0], n: 1, status: "sending" });

    const exited = once(child!, "exit");
    child!.kill("SIGKILL");
    await exited;
    proxy.hold = false;

    // A replica that was not there: it finds the job stalled (or the sweeper finds the row)
    // and sends the same attempt again.
    await fleet.startWorker({ env: { SMSGATE_TIMEOUT_MS: "30000", SWEEPER_STALE_SECONDS: "5" } });
    await waitFor(async () => (await fleet.attempts([message.id]))[0]?.status === "accepted", {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: "the retry recorded the phone's answer",
    });

    const attempts = await fleet.attempts([message.id]);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ id: claimed!.id, senderId: claimed!.senderId, n: 1, status: "accepted" });
    const stats = await fleet.simStats(account.username);
    expect(stats.sendsById[claimed!.id]).toBe(2); // the first send, then the retry's 409
    expect(stats.duplicates).toBe(1);
    expect(stats.totalSends).toBe(1);
    const sender = own.find((s) => s.id === claimed!.senderId)!;
    expect(stats.devices[sender.deviceId]?.sims[String(sender.simNumber)]?.sends).toBe(1);
    // Only that SIM of the account ever sent anything.
    const sends = Object.values(stats.devices).flatMap((d) => Object.values(d.sims).map((c) => c.sends));
    expect(sends.reduce((a, b) => a + b, 0)).toBe(1);
    expect((await fleet.message(user.token, message.id)).status).toBe("accepted");
  }, 240_000);
});
