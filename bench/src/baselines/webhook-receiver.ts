/**
 * The customer's server for the webhooks-out stage: node:http, reads each delivery's body,
 * answers 200, and notes when it arrived. Run as its own process, so neither the dispatcher
 * nor the baseline worker shares an event loop with it; prints `listening <port>` once bound
 * and exits on SIGTERM.
 *
 * Control (from the bench, never from what it measures): `POST /__reset` starts a new window,
 * `GET /__stats` reports the window: deliveries, distinct `webhook-id`s, steady rate (from the
 * first 10% of arrivals to the last), and event → arrival latency from the body's `timestamp`
 * (the event's occurred_at, same machine, same clock).
 */
import { createServer } from "node:http";

const WARM_UP_SHARE = 0.1;

let arrivals: number[] = [];
let latencies: number[] = [];
let ids = new Set<string>();
let unsigned = 0;
let unreadable = 0;

const now = () => performance.timeOrigin + performance.now();

function stats() {
  const n = arrivals.length;
  const from = Math.floor(n * WARM_UP_SHARE);
  const span = n > 1 ? (arrivals[n - 1]! - arrivals[from]!) / 1000 : 0;
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!) : null);
  return {
    deliveries: n,
    distinct: ids.size,
    unsigned,
    unreadable,
    steadyRate: span > 0 ? (n - 1 - from) / span : 0,
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
  };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    if (req.url === "/__reset") {
      arrivals = [];
      latencies = [];
      ids = new Set();
      unsigned = unreadable = 0;
      return void res.writeHead(204).end();
    }
    if (req.url === "/__stats") {
      const body = JSON.stringify(stats());
      return void res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    }
    const t = now();
    arrivals.push(t);
    const id = req.headers["webhook-id"];
    if (typeof id !== "string" || typeof req.headers["webhook-signature"] !== "string") unsigned += 1;
    else ids.add(id);
    try {
      const { timestamp } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { timestamp?: string };
      const occurred = timestamp ? Date.parse(timestamp) : Number.NaN;
      if (Number.isNaN(occurred)) unreadable += 1;
      else latencies.push(t - occurred);
    } catch {
      unreadable += 1;
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": 2 }).end("{}");
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  console.log(`listening ${typeof addr === "object" && addr ? addr.port : 0}`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
