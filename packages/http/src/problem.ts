import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { z } from "zod";
import type { Logger } from "@inboxerr/logger";
import { isDatabaseBusy, isDatabaseUnreachable, isDataException, isRetryableConflict } from "@inboxerr/db/errors";
import { TOO_DEEP } from "./body";
import { AppError, ERROR_CODES, type ErrorCode, type FieldError } from "./errors";
import { requestIdOf } from "./request-context";

const PROBLEM_CONTENT_TYPE = "application/problem+json";

type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: FieldError[];
  [k: string]: unknown;
};

function problemType(code: ErrorCode): string {
  return `https://inboxerr.dev/problems/${code.replaceAll("_", "-")}`;
}

function sendProblem(res: Response, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}): void {
  const { status, title } = ERROR_CODES[code];
  const body: Problem = { type: problemType(code), title, status, detail, code, ...extra };
  const requestId = res.getHeader("x-request-id");
  if (typeof requestId === "string") body.instance = `urn:request:${requestId}`;
  res.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** zod issues → RFC 9457 `errors[]` with dotted paths ("messages.3.to"). */
function zodFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join(".") || "(body)",
    code: i.code,
    detail: i.message,
  }));
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, "not_found", `No route for ${req.method} ${req.path}`);
};

/** The shape of body-parser's and router's errors (http-errors): a status, maybe a type. */
type HttpError = Error & { type?: string; status?: number; statusCode?: number; expose?: boolean; limit?: number };

// http-errors statuses we may meet, in our vocabulary. Any other 4xx becomes bad_request.
const STATUS_CODES: Record<number, ErrorCode> = {
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  429: "rate_limited",
};

/** The one place where our errors, framework errors and unknown errors become problem+json. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof AppError) {
      const { retryAfterSeconds, ...extra } = err.extra;
      if (retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(Math.ceil(retryAfterSeconds)));
      return sendProblem(res, err.code, err.message, extra);
    }
    if (err instanceof z.ZodError) {
      return sendProblem(res, "validation_failed", "The request has invalid fields", { errors: zodFieldErrors(err) });
    }
    const clientError = httpClientError(err);
    if (clientError) return sendProblem(res, clientError.code, clientError.detail);
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      // Only input shaped to exhaust recursion gets here (body depth is bounded at the parser):
      // the client's doing, and nothing about our stack belongs in the answer.
      logger.warn({ requestId: requestIdOf(res) }, "request exhausted the call stack");
      return sendProblem(res, "validation_failed", "The request is nested too deeply to process");
    }
    if (isDatabaseDown(err)) {
      res.setHeader("Retry-After", "5");
      return sendProblem(res, "service_unavailable", "The database is unavailable or busy; retry shortly");
    }
    if (isDataException(err)) {
      // Postgres refused a value (NUL in text, an out-of-range date...) that validation should
      // have caught: still the client's input, so 400 — but the SQL and its parameters stay out.
      logger.warn({ err, requestId: requestIdOf(res) }, "database refused a request value");
      return sendProblem(res, "validation_failed", "The request contains a value that cannot be stored");
    }
    logger.error({ err, requestId: requestIdOf(res) }, "unhandled error");
    return sendProblem(res, "internal", "An unexpected error occurred");
  };
}

/**
 * body-parser, raw-body and router errors (http-errors with a 4xx status): a bad body, a bad
 * percent-encoding in the path, an aborted upload. Their messages are meant for clients
 * (`expose`) except for our own wording below.
 */
function httpClientError(err: unknown): { code: ErrorCode; detail: string } | undefined {
  const e = err as HttpError | undefined;
  const status = e?.status ?? e?.statusCode;
  if (typeof status !== "number" || status < 400 || status > 499) return undefined;
  switch (e!.type) {
    case "entity.parse.failed":
      return { code: "malformed_json", detail: "The request body is not valid JSON" };
    case "entity.too.large":
      return { code: "payload_too_large", detail: `The request body exceeds the ${e!.limit ?? ""} byte limit`.replace("  ", " ") };
    case "parameters.too.many":
      return { code: "payload_too_large", detail: "The form has too many fields" };
    case TOO_DEEP:
      return { code: "validation_failed", detail: e!.message };
    case "encoding.unsupported":
      return { code: "unsupported_media_type", detail: `${e!.message}; send the body uncompressed` };
    case "charset.unsupported":
      return { code: "unsupported_media_type", detail: e!.message };
    case "request.aborted":
      return { code: "bad_request", detail: "The request body ended early" };
  }
  if (e instanceof URIError) return { code: "bad_request", detail: "The URL contains an invalid percent-encoding" };
  const detail = e!.expose !== false && e!.message ? e!.message : "The request is malformed";
  return { code: STATUS_CODES[status] ?? "bad_request", detail };
}

/**
 * "Try again shortly", never a 500: Postgres unreachable or restarting, too busy (statement
 * timeout, lock not available, too many connections), or a deadlock/serialization victim.
 */
export function isDatabaseDown(err: unknown): boolean {
  return isDatabaseUnreachable(err) || isDatabaseBusy(err) || isRetryableConflict(err);
}
