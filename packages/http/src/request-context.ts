import { randomBytes } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { withLogContext, type Logger } from "@inboxerr/logger";

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids: a random per-process prefix (96 bits, base64url) and a counter. Unique across
 * processes and restarts for all practical purposes, well-formed (VALID_ID), and far cheaper
 * than a randomUUID() per request.
 */
const ID_PREFIX = `${randomBytes(12).toString("base64url")}-`;
let idCounter = 0;
export function nextRequestId(): string {
  idCounter = idCounter === Number.MAX_SAFE_INTEGER ? 1 : idCounter + 1;
  return ID_PREFIX + idCounter.toString(36);
}

/** What the route-pattern label of a request is: the pattern, never the URL. */
export function routeOf(req: Request): string {
  return req.route?.path ? `${req.baseUrl}${req.route.path}` : "unmatched";
}

/** Called once per finished request with its route pattern and duration in seconds. */
export type RequestObserver = (req: Request, res: Response, route: string, seconds: number) => void;

/**
 * Per-request state, kept on res.locals under symbols so requestContext and httpMetrics share
 * one start time and one `finish` listener.
 */
export const STARTED = Symbol("inboxerr.http.started");
export const OBSERVER = Symbol("inboxerr.http.observer");
const REQUEST_ID = Symbol("inboxerr.http.requestId");

type Locals = { [STARTED]?: number; [OBSERVER]?: RequestObserver; [REQUEST_ID]?: string };
export const localsOf = (res: Response): Locals => res.locals as Locals;

export type RequestContextOptions = {
  /**
   * Run the rest of the request inside its log context, so every line it logs carries its id
   * (default true). On Node 20 that context is an AsyncLocalStorage, and its first use installs
   * promise hooks for the whole process: every promise after that pays for them. A service
   * whose requests share their work (webhook-ingest folds concurrent webhooks into one
   * statement) gains nothing from it, since the shared work belongs to no one request (its lines
   * would carry whichever request started the batch); there the hooks were 2 - 3% of the CPU.
   * Without it, the summary line and problemHandler's lines still name the request id.
   */
  logContext?: boolean;
};

/** The request id requestContext gave this response, if it ran. */
export const requestIdOf = (res: Response): string | undefined => localsOf(res)[REQUEST_ID];

/**
 * Mints (or accepts a well-formed incoming) request id, echoes it as X-Request-Id, runs the
 * rest of the request inside its log context (unless opted out), and writes one summary line
 * when it ends (at level info). httpMetrics mounted after it reuses its start time and `finish`
 * listener.
 */
export function requestContext(logger: Logger, opts: RequestContextOptions = {}): RequestHandler {
  const logContext = opts.logContext ?? true;
  // One listener function for every request (`this` is the response): no per-request closures.
  function onFinish(this: Response): void {
    const locals = localsOf(this);
    const observer = locals[OBSERVER];
    const logging = logger.isLevelEnabled("info");
    if (!observer && !logging) return;
    const seconds = (performance.now() - (locals[STARTED] ?? 0)) / 1000;
    const req = this.req;
    // Route pattern, not the URL: ids and phone numbers stay out of the summary line.
    const route = routeOf(req);
    if (observer) observer(req, this, route, seconds);
    if (logging) {
      // requestId explicitly: the finish event may fire outside the request's log context.
      logger.info(
        { requestId: locals[REQUEST_ID], method: req.method, route, status: this.statusCode, ms: Math.round(seconds * 10_000) / 10 },
        "request",
      );
    }
  }

  return (req, res, next) => {
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && VALID_ID.test(incoming) ? incoming : nextRequestId();
    res.setHeader("X-Request-Id", requestId);
    const locals = localsOf(res);
    locals[STARTED] = performance.now();
    locals[REQUEST_ID] = requestId;
    res.on("finish", onFinish);
    // Warnings and errors emitted while handling the request carry its id (pino mixin), so the
    // log context runs whatever the level.
    if (logContext) withLogContext({ requestId }, next);
    else next();
  };
}
