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
  /**
   * Milliseconds from each request's due time to its answer (so queueing in the client counts);
   * a request never answered counts as infinitely slow.
   */
  latency: { p50: number; p90: number; p99: number; max: number };
  /** The warm-up's own outcomes: sent to the service all the same. */
  warmUp: { ok: number; non2xx: number; errors: number };
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

  const latencies = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  const out = { ok: 0, non2xx: 0, errors: 0 };
  const warmUp = { ok: 0, non2xx: 0, errors: 0 };
  let answered = 0;
  let next = 0;
  const waiting: number[] = [];
  const idle: Conn[] = [];
  let origin = 0;
  const dueAt = (i: number) => origin + (i * 1000) / opts.rate;

  const settle = (i: number, outcome: "ok" | "non2xx" | "errors") => {
    latencies[i] = performance.now() - dueAt(i);
    (i >= warm ? out : warmUp)[outcome] += 1;
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
        // First in, first out: every connection stays in use, so none sits idle long enough
        // for the server's keep-alive timeout to close it under us.
        const conn = idle.shift();
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
  // Never answered: an error, in the warm-up's count or the run's.
  for (let i = 0; i < total; i++) {
    if (latencies[i] === Number.POSITIVE_INFINITY) (i >= warm ? out : warmUp).errors += 1;
  }

  const sorted = Array.from(latencies.subarray(warm, total)).sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN);
  return {
    ...out,
    warmUp,
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
 * answer's status and end (Content-Length; the services never answer chunked). A connection
 * that drops with a request in flight fails that request; either way it reconnects, and only
 * a connection that was busy goes back to the pool (an idle one is in it already).
 */
function openConn(
  target: URL,
  requests: readonly Buffer[],
  settle: (i: number, outcome: "ok" | "non2xx" | "errors") => void,
  dispatch: (conn: Conn) => void,
): Promise<Conn> {
  const port = Number(target.port || 80);
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    let current: number | undefined;
    let buffered: Buffer = Buffer.alloc(0);
    let ready = false;
    let closing = false;
    let reopen = false;
    /** Whether `current` went out on the socket (false: given while the socket was down). */
    let written = false;

    const onClose = () => {
      if (closing) return;
      if (!ready) return reject(new Error(`cannot connect to ${target.host}`));
      const wasBusy = (current !== undefined && written) || reopen;
      reopen = false;
      if (current !== undefined && written) {
        settle(current, "errors");
        current = undefined;
      }
      buffered = Buffer.alloc(0);
      // Writes wait in the new socket until it connects; a pause keeps a server that is gone
      // from turning this into a busy loop.
      setTimeout(() => {
        if (closing) return;
        connect();
        // An idle connection stays in the pool meanwhile and may have been given a request.
        if (current !== undefined) {
          written = true;
          socket.write(requests[current]!);
        } else if (wasBusy) dispatch(conn);
      }, 10);
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      // An answer to no request, or one we cannot read: drop the connection.
      if (current === undefined) return void socket.destroy();
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
      if (/\r\nconnection: *close/i.test(head)) {
        reopen = true; // onClose reconnects, then takes the next request
        return void socket.destroy();
      }
      dispatch(conn);
    };
    const connect = (onReady?: () => void) => {
      socket = net.connect({ host: target.hostname, port, noDelay: true }, onReady);
      socket.on("data", onData);
      socket.on("error", () => undefined);
      socket.on("close", onClose);
    };
    const conn: Conn = {
      send(i) {
        if (current !== undefined) throw new Error("paced client: a connection was given two requests at once");
        current = i;
        written = !socket.destroyed;
        if (written) socket.write(requests[i]!); // else it goes out once reconnected
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
