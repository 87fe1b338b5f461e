import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import { withLogContext, type Logger } from "@inboxerr/logger";

/**
 * Mints (or adopts) a request id, echoes it as `X-Request-Id`, runs the rest of the request
 * inside its log context and writes one summary line when the response ends. Summaries are
 * debug level: benchmarks push tens of thousands of sends through here.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get("x-request-id");
    const requestId = incoming && incoming.length <= 128 ? incoming : randomUUID();
    res.setHeader("X-Request-Id", requestId);
    const started = performance.now();
    res.on("finish", () => {
      const line = {
        requestId,
        method: req.method,
        path: req.originalUrl.split("?")[0],
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      };
      if (res.statusCode >= 500) logger.error(line, "request");
      else logger.debug(line, "request");
    });
    withLogContext({ requestId }, () => next());
  };
}
