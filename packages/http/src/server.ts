import { createServer, type Server } from "node:http";
import type { Express } from "express";

export type ServerLimits = {
  /** Time to receive a request's headers (default 10 s): slowloris clients are dropped. */
  headersTimeoutMs?: number;
  /**
   * Time to receive a whole request, body included (default 30 s): a client that declares a
   * Content-Length and never sends the body gets 408 and a closed socket. A 5 MB bulk needs
   * only ~1.4 Mbit/s to arrive in time.
   */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (default 5 s). */
  keepAliveTimeoutMs?: number;
  /**
   * How often node checks the two timeouts above (default 1 s). Node's own default is 30 s,
   * which would let a stalled request live up to a minute past its timeout.
   */
  timeoutCheckIntervalMs?: number;
};

/**
 * An http.Server for `app` with bounded timeouts. Parser errors (a malformed request line,
 * oversized headers) keep node's default answer: 400 (or 431, 408) and the socket closed.
 */
function createHttpServer(app: Express, limits: ServerLimits = {}): Server {
  const requestTimeout = limits.requestTimeoutMs ?? 30_000;
  const server = createServer(
    {
      // Node refuses headersTimeout > requestTimeout.
      headersTimeout: Math.min(limits.headersTimeoutMs ?? 10_000, requestTimeout),
      requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? 5_000,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs ?? 1_000,
    },
    app,
  );
  return server;
}

/** Listens and resolves once bound (port 0 picks a free one: tests read `port`). */
export function listen(app: Express, port: number, host = "0.0.0.0", limits: ServerLimits = {}): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer(app, limits);
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === "object" && addr ? addr.port : port });
    });
  });
}
/** Stops accepting, lets in-flight requests finish, and drops idle keep-alive sockets. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * Runs `shutdown` once on SIGTERM/SIGINT, exiting 0 when it finishes and 1 if it exceeds
 * `graceMs` (so a container's stop_grace_period is never the thing that kills us).
 */
export function onShutdownSignal(shutdown: (signal: string) => Promise<void>, graceMs = 25_000): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), graceMs);
    timer.unref();
    shutdown(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
}
