import type { Server } from "node:http";
import type { Express } from "express";

/** Listens and resolves once bound (port 0 picks a free one: tests read `port`). */
export function listen(app: Express, port: number, host = "0.0.0.0"): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      const addr = server.address();
      resolve({ server, port: typeof addr === "object" && addr ? addr.port : port });
    });
    server.once("error", reject);
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
