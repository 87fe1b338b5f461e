import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { createSimulatorApp, type Simulator, type SimulatorOptions } from "../app";

export const CREDENTIALS = { username: "inboxerr", password: "sim-password" };
export const SIGNING_KEY = "sim-signing-key-0123456789";
const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
export const AUTH = basic(CREDENTIALS.username, CREDENTIALS.password);

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A simulator on an ephemeral port, over real HTTP. */
export async function startSimulator(opts: Partial<SimulatorOptions> = {}) {
  const sim: Simulator = createSimulatorApp({ ...CREDENTIALS, signingKey: SIGNING_KEY, ...opts });
  const server = createServer(sim.app);
  const url = await listen(server);
  const api = `${url}/3rdparty/v1`;
  const request = async (target: string, method: string, body: unknown, headers: Record<string, string>) => {
    const res = await fetch(target, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : null };
  };
  return {
    sim,
    url,
    api,
    /** The primary account's device ids, in order. */
    deviceIds: sim.devices().map((d) => d.id),
    /** An authenticated JSON request to the 3rd-party API, as the primary account. */
    call: (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      request(`${api}${path}`, method, body, { authorization: AUTH, ...headers }),
    /** The same, as another account. */
    callAs: (account: { username: string; password: string }, method: string, path: string, body?: unknown) =>
      request(`${api}${path}`, method, body, { authorization: basic(account.username, account.password) }),
    /** A request to the control endpoints (`/simulator/...`). */
    control: (method: string, path: string, body?: unknown) => request(`${url}/simulator${path}`, method, body, {}),
    async close() {
      await sim.close();
      await shut(server);
    },
  };
}

type ReceivedWebhook = { rawBody: Buffer; headers: IncomingHttpHeaders; body: Record<string, unknown> };

/**
 * A webhook receiver that keeps the raw bytes (signatures cover them) and answers with
 * `status(n)` for the n-th request (1-based), 200 by default.
 */
export async function startReceiver(status: (n: number) => number = () => 200) {
  const received: ReceivedWebhook[] = [];
  let attempts = 0;
  const app = express();
  app.post("/hook", express.raw({ type: "*/*" }), (req, res) => {
    attempts += 1;
    const code = status(attempts);
    if (code >= 200 && code < 300) {
      const rawBody = req.body as Buffer;
      received.push({ rawBody, headers: req.headers, body: JSON.parse(rawBody.toString("utf8")) });
    }
    res.status(code).end();
  });
  const server = createServer(app);
  const url = await listen(server);
  return {
    url: `${url}/hook`,
    received,
    attempts: () => attempts,
    close: () => shut(server),
  };
}
