import { AsyncLocalStorage } from "node:async_hooks";

/** Fields every log line inside a request or job carries (requestId, jobId, userId...). */
export type LogContext = Record<string, string | number | undefined>;

const storage = new AsyncLocalStorage<LogContext>();

/** Runs fn with ctx merged into the log context of everything it awaits. */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...ctx }, fn);
}

export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
