import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import { withLogContext, type Logger } from "@inboxerr/logger";

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Mints (or accepts a well-formed incoming) request id, echoes it as X-Request-Id, runs the
 * rest of the request inside its log context, and writes one summary line when it ends.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.header("x-request-id");
    const requestId = incoming && VALID_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader("X-Request-Id", requestId);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Route pattern, not the URL: ids and phone numbers stay out of the summary line.
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : "unmatched";
      withLogContext({ requestId }, () =>
        logger.info({ method: req.method, route, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, "request"),
      );
    });
    withLogContext({ requestId }, next);
  };
}
