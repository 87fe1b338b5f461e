import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "@inboxerr/logger";

/** SMS Gate's error body (`smsgateway.ErrorResponse`): `{"message": "..."}`. */
export function sendError(res: Response, status: number, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ ...extra, message });
}

/** Unknown routes answer like the real server's router does. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, `Cannot ${req.method} ${req.originalUrl.split("?")[0]}`);
};

/**
 * Body-parser failures become 4xx with the real server's wording; anything else is a 500
 * whose details stay in the log.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: unknown }).status;
    // The router's own: a path parameter that is not valid percent-encoding ("/messages/%ZZ").
    if (err instanceof URIError && status === 400) return sendError(res, 400, `invalid path: ${err.message}`);
    if (typeof status === "number" && status >= 400 && status < 500) {
      const message = err instanceof Error ? err.message : String(err);
      return sendError(res, status, `failed to parse body: ${message}`);
    }
    logger.error({ err }, "request failed");
    sendError(res, 500, "failed to handle request");
  };
}

/** SMS Gate's wording for a body that fails validation, naming the first bad field. */
export function validationMessage(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ` : "";
  return `validation failed: ${where}${issue?.message ?? "invalid body"}`;
}
