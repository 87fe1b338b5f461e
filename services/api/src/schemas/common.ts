import { z } from "zod";
import { MESSAGE_STATUS_VALUES } from "@inboxerr/contracts";

/** RFC 3339 timestamps with an explicit offset (`Z` or `+02:00`); a bare local time is ambiguous. */
export const isoDateTime = () => z.iso.datetime({ offset: true });

/** Timestamps in responses: ISO 8601 in UTC, or null when the event has not happened. */
export const nullableTimestamp = () => z.string().nullable().meta({ format: "date-time" });

export const MessageStatusSchema = z.enum(MESSAGE_STATUS_VALUES).meta({ id: "MessageStatus" });

export const IdParams = z.object({
  id: z.string().meta({ description: "Resource id (UUID)", example: "0b6f3a0e-6d2c-4b9e-9a51-3d8f7c1e2a40" }),
});

export const FieldErrorSchema = z
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
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: "Repeat a request safely: the same key and body return the first response (kept 24 h)." }),
});
