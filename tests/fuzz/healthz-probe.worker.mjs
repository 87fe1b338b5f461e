// The /healthz probe's own thread (see healthz-probe.ts). Plain JavaScript: a worker thread
// gets no TypeScript loader. It has its own event loop, so a blocked service loop shows up in
// its timings instead of delaying the probe itself.
import { createServer } from "node:http";
import { once } from "node:events";
import { parentPort, workerData } from "node:worker_threads";
import { setTimeout as delay } from "node:timers/promises";

const { intervalMs, timeoutMs } = workerData;
// The control: a trivial /healthz served by this thread and probed like the services. What
// it suffers (this thread descheduled, loopback congestion) is the machine's, not theirs.
const control = createServer((_req, res) => res.end('{"status":"ok"}'));
control.listen(0, "127.0.0.1");
await once(control, "listening");
const targets = { ...workerData.targets, control: `http://127.0.0.1:${control.address().port}/healthz` };
/** @type {{ app: string; startedAt: number; endedAt: number; ms: number; status: number; error?: string }[]} */
const samples = [];
const inFlight = new Map();
let running = true;

async function probeOnce(app, url) {
  const startedAt = Date.now();
  const t0 = performance.now();
  let status = 0;
  let error;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    status = res.status;
  } catch (err) {
    error = String(err?.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : err);
  }
  samples.push({ app, startedAt, endedAt: Date.now(), ms: performance.now() - t0, status, error });
}

async function loop(app, url) {
  while (running) {
    const p = probeOnce(app, url);
    inFlight.set(app, p);
    await p;
    inFlight.delete(app);
    await delay(intervalMs);
  }
}

const loops = Object.entries(targets).map(([app, url]) => loop(app, url));

parentPort.on("message", async (msg) => {
  if (msg.type === "report") {
    // A probe still waiting on a frozen service is part of the window being asked about, and
    // one more of each ends it: a window shorter than the probe interval still gets a probe.
    await Promise.all(inFlight.values());
    await Promise.all(Object.entries(targets).map(([app, url]) => probeOnce(app, url)));
    const window = samples.filter((s) => s.endedAt >= msg.since);
    parentPort.postMessage({ type: "report", seq: msg.seq, samples: window });
  } else if (msg.type === "stop") {
    running = false;
    await Promise.all(loops);
    control.close();
    parentPort.postMessage({ type: "stopped", seq: msg.seq });
  }
});
