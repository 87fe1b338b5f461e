import { pino, type Logger, type LoggerOptions } from "pino";
import { currentLogContext } from "./context";
import { redactQueryText, serializeError } from "./errors";

export type { Logger };

/** Paths whose values never reach a log line. Wildcards cover one nesting level. */
const SECRET_PATHS = [
  "password",
  "*.password",
  "passwordHash",
  "*.passwordHash",
  "token",
  "*.token",
  "access_token",
  "*.access_token",
  "apiKey",
  "*.apiKey",
  "key",
  "*.key",
  "secret",
  "*.secret",
  // Gateway account secrets (ADR 0017), in request bodies and rows alike.
  "webhookSigningKey",
  "*.webhookSigningKey",
  "webhook_signing_key",
  "*.webhook_signing_key",
  "authorization",
  "*.authorization",
  'headers["authorization"]',
  'headers["x-api-key"]',
  'headers["cookie"]',
  '*.headers["authorization"]',
  '*.headers["x-api-key"]',
  '*.headers["cookie"]',
  'headers["x-signature"]',
  '*.headers["x-signature"]',
  // A failed query's SQL and bound values (drizzle's DrizzleQueryError), wherever they are logged.
  "params",
  "*.params",
  "query",
  "*.query",
];

/** Message bodies are personal data: hidden unless LOG_MESSAGE_TEXT=true. */
const TEXT_PATHS = ["text", "*.text", "textMessage", "*.textMessage"];

export type CreateLoggerOptions = {
  service: string;
  level?: string;
  logMessageText?: boolean;
  /** A writable stream (tests capture output through it); stdout by default. */
  destination?: NodeJS.WritableStream;
};

export function createLogger(opts: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? "info",
    base: { service: opts.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: opts.logMessageText ? SECRET_PATHS : [...SECRET_PATHS, ...TEXT_PATHS],
      censor: "[redacted]",
    },
    serializers: { err: serializeError, error: serializeError },
    formatters: { log: scrubQueryText },
    // Pulls requestId/jobId from AsyncLocalStorage, so handlers need not thread a logger.
    // A copy: pino merges each call's fields into the mixin object, which would otherwise be the
    // live context store and leak one line's fields (an err) into every later line.
    mixin: () => ({ ...currentLogContext() }),
  };
  return opts.destination
    ? pino(options, opts.destination as pino.DestinationStream)
    : pino(options);
}

/** Top-level string fields that quote a failed query (`reason: err.message`) lose its SQL and values. */
function scrubQueryText(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    const value = obj[key];
    if (typeof value !== "string") continue;
    const clean = redactQueryText(value);
    if (clean !== value) (out ??= { ...obj })[key] = clean;
  }
  return out ?? obj;
}
