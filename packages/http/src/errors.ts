/**
 * The closed set of error codes every Inboxerr HTTP service speaks. Domain code throws
 * AppError with one of these; only the express edge (problem.ts) knows about HTTP.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, title: "Malformed request" },
  validation_failed: { status: 400, title: "Request validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON body" },
  unauthorized: { status: 401, title: "Authentication required" },
  invalid_signature: { status: 401, title: "Invalid webhook signature" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  unprocessable: { status: 422, title: "Unprocessable request" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal server error" },
  bad_gateway: { status: 502, title: "Bad gateway" },
  service_unavailable: { status: 503, title: "Service unavailable" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One field-level problem, as in RFC 9457 extension member `errors`. */
export type FieldError = { path: string; code?: string; detail: string; index?: number; to?: string };

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; [k: string]: unknown } = {},
  ) {
    super(detail);
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export const notFound = (what: string) => new AppError("not_found", `${what} not found`);
