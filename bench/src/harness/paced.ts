import net from "node:net";
import type { Request } from "autocannon";
import type { WebhookSource } from "./webhooks";

export type PacedResult = {
  /** Requests counted (the warm-up's are not). */
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Seconds from the first counted request's due time to the last answer. */
  duration: number;
  /** Milliseconds from each request's due time to its answer (so queueing in the client counts). */
  latency: { p50: number; p90: number; p99: number; max: number };
  /** CPU the load generator itself used while sending, per request (ms): it shares the machine. */
  clientCpuMsPerRequest: number;
};

/**
 * Open-loop load at a fixed rate, evenly spaced: request i is due at start + i / rate, whatever
 * the answers before it did, and its latency counts from that due time. Up to `connections`
 * keep-alive connections, one request in flight on each; a request due while all are busy
 * waits for one, and that wait counts.
 *
 * autocannon's `overallRate` is not this: each connection sends its share of a second back to
 * back at the top of the second, then idles, so "1,000/s" arrives as 1,000 requests in the first
 * 150 - 250 ms of each second (measured), a closed-loop burst at several times the rate.
 *
 * The generator must not be what the machine is short of: every request is built and signed
 * before the clock starts, and goes out as one prepared buffer on a raw socket. Through
 * node:http, with signing on the way, it used about 0.45 ms of CPU per request, half a core at
 * 1,000/s taken from the 2-core machine the service under test runs on.
 */
export async function runPaced(opts: {
  url: string;
  source: WebhookSource;
  rate: number;
  durationSeconds: number;
  connections: number;
  /** Paced like the rest but not counted, so opening the connections is not measured (default 1 s). */
  warmUpSeconds?: number;
}): Promise<PacedResult> {
  const target = new URL(opts.url);
  const warm = Math.round(opts.rate * (opts.warmUpSeconds ?? 1));
  const total = warm + Math.round(opts.rate * opts.durationSeconds);
  const requests = Array.from({ length: total }, () => encode(opts.source.setupRequest({} as Request), target));

  const latencies = new Float64Array(total);
  const out = { ok: 0, non2xx: 0, errors: 0 };
  let answered = 0;
  let next = 0;
  const waiting: number[] = [];
  const idle: Conn[] = [];
  let origin = 0;
  const dueAt = (i: number) => origin + (i * 1000) / opts.rate;

  const settle = (i: number, outcome: "ok" | "non2xx" | "errors") => {
    latencies[i] = performance.now() - dueAt(i);
    if (i >= warm) out[outcome] += 1;
    answered += 1;
  };
  const dispatch = (conn: Conn) => {
    const i = waiting.shift();
    if (i === undefined) idle.push(conn);
    else conn.send(i);
  };
  const conns = await Promise.all(
    Array.from({ length: opts.connections }, () => openConn(target, requests, settle, dispatch)),
  );
  idle.push(...conns);

  const cpuStart = process.cpuUsage();
  origin = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && dueAt(next) <= now) {
        const conn = idle.pop();
        if (conn) conn.send(next);
        else waiting.push(next);
        next += 1;
      }
      if (next < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const deadline = performance.now() + 30_000;
  while (answered < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const duration = (performance.now() - dueAt(warm)) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  for (const c of conns) c.close();
  out.errors += total - answered;

  const sorted = Array.from(latencies.subarray(warm, total)).sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return {
    ...out,
    sent: total - warm,
    duration,
    latency: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
    clientCpuMsPerRequest: (cpu.user + cpu.system) / 1000 / total,
  };
}

type Conn = { send(i: number): void; close(): void };

/** One HTTP/1.1 request, head and body, as the bytes to write. */
function encode(req: Request, target: URL): Buffer {
  const body = typeof req.body === "string" ? req.body : "";
  const headers = { host: target.host, connection: "keep-alive", ...(req.headers ?? {}), "content-length": String(Buffer.byteLength(body)) };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return Buffer.from(`${req.method ?? "POST"} ${req.path ?? target.pathname} HTTP/1.1\r\n${head}\r\n${body}`);
}

/**
 * A keep-alive connection carrying one request at a time. Reads just enough HTTP to find each
 * answer's status and end (Content-Length; the services never answer chunked), and reports an
 * answer it cannot read, or a dropped connection, as an error.
 */
function openConn(
  target: URL,
  requests: readonly Buffer[],
  settle: (i: number, outcome: "ok" | "non2xx" | "errors") => void,
  dispatch: (conn: Conn) => void,
): Promise<Conn> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    let current: number | undefined;
    let buffered: Buffer = Buffer.alloc(0);
    let ready = false;
    let closing = false;

    // A dropped connection fails its request and is replaced; a mangled answer drops it.
    const onClose = () => {
      if (closing) return;
      if (!ready) return reject(new Error(`cannot connect to ${target.host}`));
      if (current !== undefined) settle(current, "errors");
      current = undefined;
      buffered = Buffer.alloc(0);
      connect(() => dispatch(conn));
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0 || current === undefined) return;
      const head = buffered.subarray(0, end).toString("latin1");
      const status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length || Number.isNaN(status)) return void socket.destroy();
      const size = end + 4 + Number(length[1]);
      if (buffered.length < size) return;
      buffered = buffered.subarray(size);
      const i = current;
      current = undefined;
      settle(i, status >= 200 && status < 300 ? "ok" : "non2xx");
      if (/\r\nconnection: *close/i.test(head)) return void socket.destroy();
      dispatch(conn);
    };
    const connect = (onReady: () => void) => {
      socket = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true }, onReady);
      socket.on("data", onData);
      socket.on("error", () => undefined);
      socket.on("close", onClose);
    };
    const conn: Conn = {
      send(i) {
        current = i;
        socket.write(requests[i]!);
      },
      close() {
        closing = true;
        socket.destroy();
      },
    };
    connect(() => {
      ready = true;
      resolve(conn);
    });
  });
}
