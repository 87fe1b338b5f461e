import type { Server } from "node:http";
import type { Express } from "express";
import { listen } from "./server";

export type ListenTarget = {
  /** The service's name, first on the line. */
  service: string;
  /** The setting that chose the port (SENDER_PORT...), so the line says what to change. */
  portSetting: string;
};

/**
 * One line for an operator when a service cannot bind its port, or undefined for any other
 * error. A second replica started on a developer's machine meets EADDRINUSE first.
 */
function describeListenError(err: unknown, port: number, target: ListenTarget): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const { service, portSetting } = target;
  if (code === "EADDRINUSE") return `${service}: port ${port} is in use (${portSetting}); set another port to run a second replica locally, e.g. ${portSetting}=${port + 10}`;
  if (code === "EACCES") return `${service}: not allowed to listen on port ${port} (${portSetting}); choose a port above 1023`;
  return undefined;
}

/** Exit code for a port the service cannot take: a setting to change, like a bad config value. */
const LISTEN_FAILED_EXIT_CODE = 78;

/**
 * listen() for a service's main.ts: a port that is taken (or forbidden) ends the process with
 * one line on stderr and exit code 78 instead of a stack trace; anything else is thrown.
 */
export async function listenOrExit(app: Express, port: number, target: ListenTarget): Promise<{ server: Server; port: number }> {
  try {
    return await listen(app, port);
  } catch (err) {
    const line = describeListenError(err, port, target);
    if (!line) throw err;
    process.stderr.write(`${line}\n`);
    process.exit(LISTEN_FAILED_EXIT_CODE);
  }
}
