import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runPaced } from "./paced";
import type { WebhookSource } from "./webhooks";

/** A source of distinct small POSTs, like the webhook source but unsigned. */
function source(): WebhookSource {
  let k = 0;
  return {
    setupRequest: (req) => ({ ...req, method: "POST", path: "/x", headers: { "content-type": "application/json" }, body: `{"k":${k++}}` }),
    built: () => k,
    overflow: () => 0,
  };
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(
  handler: http.RequestListener,
  tune?: (s: http.Server) => void,
): Promise<{ url: string; arrivals: number[]; connections: () => number }> {
  const arrivals: number[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    req.on("end", () => handler(req, res));
  });
  server.on("connection", () => (connections += 1));
  tune?.(server);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, arrivals, connections: () => connections };
}

describe("runPaced", () => {
  it("offers the rate evenly spaced, not in bursts, and times from each request's due time", async () => {
    const { url, arrivals } = await serve((_req, res) => res.end("ok"));
    const r = await runPaced({ url, source: source(), rate: 400, durationSeconds: 1, connections: 10, warmUpSeconds: 0.25 });
    expect(r).toMatchObject({ sent: 400, ok: 400, non2xx: 0, errors: 0, warmUp: { ok: 100, non2xx: 0, errors: 0 } });
    // 500 arrivals over 1.25 s: every 100 ms window holds about 40, none a burst.
    const start = arrivals[0]!;
    const windows = new Array<number>(12).fill(0);
    for (const a of arrivals) {
      const w = Math.floor((a - start) / 100);
      if (w < windows.length) windows[w]! += 1;
    }
    for (const n of windows) {
      expect(n).toBeGreaterThan(25);
      expect(n).toBeLessThan(55);
    }
    expect(r.latency.p50).toBeLessThan(50);
  });

  it("counts a slow answer's wait, and the requests queued behind it, from their due times", async () => {
    let first = true;
    const { url } = await serve((_req, res) => {
      // One connection: the first answer takes 300 ms, and everything due meanwhile queues.
      if (first) {
        first = false;
        setTimeout(() => res.end("ok"), 300);
      } else res.end("ok");
    });
    const r = await runPaced({ url, source: source(), rate: 100, durationSeconds: 1, connections: 1, warmUpSeconds: 0 });
    expect(r.ok).toBe(100);
    expect(r.latency.max).toBeGreaterThanOrEqual(290);
    // About 30 requests were due during the stall: more than 1% waited well over 100 ms.
    expect(r.latency.p90).toBeGreaterThan(50);
  });

  it("survives the server closing idle keep-alive connections, never giving a connection two requests", async () => {
    // 30 connections at 20/s, taken in turn: each is idle 1.5 s between its requests, longer
    // than the server keeps one after an answer (keepAliveTimeout 100 ms plus the 1 s Node 20
    // adds), so the server closes them in between. Every other answer takes 300 ms, so several
    // connections are busy at once.
    let n = 0;
    const { url, connections } = await serve(
      (_req, res) => {
        n += 1;
        setTimeout(() => res.end("ok"), n % 2 ? 300 : 0);
      },
      (s) => {
        s.keepAliveTimeout = 100;
      },
    );
    const r = await runPaced({ url, source: source(), rate: 20, durationSeconds: 3.5, connections: 30, warmUpSeconds: 0 });
    expect(connections()).toBeGreaterThan(30); // the server did close some, and they were reopened
    expect(r).toMatchObject({ ok: 70, non2xx: 0, errors: 0 });
    expect(r.latency.max).toBeLessThan(400);
    expect(r.duration).toBeLessThan(5);
  });

  it("reports answers that are not 2xx, and 'Connection: close' answers, without losing requests", async () => {
    let n = 0;
    const { url } = await serve((_req, res) => {
      n += 1;
      if (n % 5 === 0) res.setHeader("connection", "close");
      res.statusCode = n % 2 ? 200 : 503;
      res.end("x");
    });
    const r = await runPaced({ url, source: source(), rate: 100, durationSeconds: 1, connections: 4, warmUpSeconds: 0 });
    expect(r.ok + r.non2xx).toBe(100);
    expect(r.errors).toBe(0);
    expect(r.non2xx).toBe(50);
  });
});
