import { z } from "zod";
import { MESSAGE_STATUS_VALUES } from "@inboxerr/contracts";

// Half of a surrogate pair: valid in a JS string and in JSON, but not encodable as UTF-8.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The building block of every request string that is stored or used in a query: Postgres
 * refuses NUL (`\u0000`) in text, and an unpaired surrogate cannot be encoded (jsonb, which
 * keeps idempotent responses, refuses it). Either is a 400 naming the field, never a 500.
 */
export const safeText = (opts: { max?: number } = {}) =>
  // A length bound comes first and aborts, so the scans below never run over an oversized string.
  (opts.max === undefined ? z.string() : z.string().max(opts.max, { abort: true }))
    .refine((s) => !s.includes("\u0000"), { message: "must not contain the NUL character (\\u0000)" })
    .refine((s) => !LONE_SURROGATE.test(s), { message: "must be valid Unicode (it contains an unpaired surrogate)" });

// What a timestamptz column takes and a JS Date round-trips as plain ISO: Postgres has no year
// 0000, and toISOString writes years past 9999 as "+010000".
const MIN_TIME = Date.UTC(1970, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// A date-time that only lacks its offset: told apart so the error can say what to add.
const localDateTime = z.iso.datetime({ local: true });

/** RFC 3339 timestamps with an explicit offset (`Z` or `+02:00`); a bare local time is ambiguous. */
export const isoDateTime = () =>
  z.iso
    .datetime({
      offset: true,
      // The range check below has nothing to say about a string that is no date-time.
      abort: true,
      error: (issue) =>
        localDateTime.safeParse(issue.input).success
          ? "has no UTC offset: add Z or one such as +02:00 (2026-01-31T09:00:00Z)"
          : "must be an ISO 8601 date-time with a UTC offset, such as 2026-01-31T09:00:00Z",
    })
    .refine(
    (v) => {
      const t = Date.parse(v);
      return t >= MIN_TIME && t <= MAX_TIME;
    },
    { message: "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z" },
  );

/** Timestamps in responses: ISO 8601 in UTC, or null when the event has not happened. */
export const nullableTimestamp = () => z.string().nullable().meta({ format: "date-time" });

export const MessageStatusSchema = z.enum(MESSAGE_STATUS_VALUES).meta({ id: "MessageStatus" });

export const IdParams = z.object({
  id: z.string().meta({ description: "Resource id (UUID)", example: "0b6f3a0e-6d2c-4b9e-9a51-3d8f7c1e2a40" }),
});

const FieldErrorSchema = z
  .object({
    path: z.string().meta({ example: "messages.3.to" }),
    code: z.string().optional().meta({ example: "invalid_phone" }),
    detail: z.string(),
    index: z.number().int().optional(),
    to: z.string().optional(),
  })
  .meta({ id: "FieldError" });

export const ProblemSchema = z
  .object({
    type: z.string().meta({ example: "https://inboxerr.dev/problems/validation-failed" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().meta({ description: "Machine-readable error code (closed set)", example: "validation_failed" }),
    instance: z.string().optional().meta({ description: "urn:request:<X-Request-Id>" }),
    errors: z.array(FieldErrorSchema).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });

export const IdempotencyHeaders = z.object({
  "idempotency-key": safeText()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: "Repeat a request safely: the same key and body return the first response (kept 24 h)." }),
});
