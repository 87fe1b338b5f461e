import express from "express";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Server } from "node:http";
import { closeServer, listen } from "./server";

// Short limits so the test sees them fire; the defaults are 10 s / 30 s / 5 s.
const LIMITS = { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300, timeoutCheckIntervalMs: 50 };

let server: Server;
let port: number;
beforeAll(async () => {
  const app = express();
  app.use(express.json());
  app.post("/echo", (req, res) => void res.json(req.body));
  app.get("/ok", (_req, res) => void res.send("ok"));
  ({ server, port } = await listen(app, 0, "127.0.0.1", LIMITS));
});
afterAll(() => closeServer(server));

type RawClient = { socket: Socket; received: () => string; closed: Promise<unknown> };

/** A raw socket that records what the server wrote; `closed` settles when the server drops it. */
function rawClient(): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    let data = "";
    const socket = connect(port, "127.0.0.1");
    // Bounded: a server that never closes fails the test instead of hanging it.
    const closed = once(socket, "close", { signal: AbortSignal.timeout(5_000) });
    socket.on("data", (chunk) => (data += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve({ socket, received: () => data, closed }));
    socket.once("error", reject);
  });
}

describe("listen() timeouts", () => {
  it("drops a client that declares a body and never sends it, answering 408", async () => {
    const client = await rawClient();
    const started = performance.now();
    client.socket.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
    await client.closed;
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it("drops a client that never finishes its headers", async () => {
    const client = await rawClient();
    client.socket.write("GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it("answers a request the parser cannot read with 400 and closes at once", async () => {
    const client = await rawClient();
    client.socket.write("NOT A REQUEST\r\n\r\n");
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 400/);
  });

  it("closes an idle keep-alive connection after the keep-alive timeout", async () => {
    const client = await rawClient();
    client.socket.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    await client.closed;
    // It was answered, then left open until the keep-alive timeout closed it.
    expect(client.received()).toMatch(/^HTTP\/1\.1 200[\s\S]*Keep-Alive: timeout=0?\.?\d*[\s\S]*ok$/i);
  });
});
