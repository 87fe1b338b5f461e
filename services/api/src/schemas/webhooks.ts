import { z } from "zod";
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_ENDPOINT_STATUSES } from "@inboxerr/db";
import { WEBHOOK_EVENT_TYPES } from "@inboxerr/webhooks";
import { isoDateTime, nullableTimestamp, safeText } from "./common";

const timestamp = () => z.string().meta({ format: "date-time" });

const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES).meta({ id: "WebhookEventType" });

const url = safeText({ max: 2048 }).meta({
  description:
    "Where deliveries are POSTed: https (http only where WEBHOOK_ALLOW_INSECURE is on), resolving to public addresses " +
    "only (unless WEBHOOK_ALLOW_PRIVATE_TARGETS); a URL refused says why (422)",
  example: "https://example.com/hooks/inboxerr",
});
const description = safeText({ max: 500 }).nullable();

/**
 * The request bodies twice over: documented with the event types as an enum, parsed with any
 * string there, so that an unknown type is a 422 naming it (parseEndpointBody) rather than a
 * generic 400 among the shape's errors.
 */
function endpointBodies<E extends z.ZodType>(event: E) {
  const events = z
    .array(event)
    .max(50)
    .meta({ description: "Event types to deliver; empty or omitted = every type" });
  return {
    create: z.strictObject({ url, description: description.optional(), events: events.optional() }),
    update: z.strictObject({
      url: url.optional(),
      description: description.optional(),
      events: events.optional(),
      status: z.enum(WEBHOOK_ENDPOINT_STATUSES).optional().meta({
        description: "`disabled`: nothing is delivered until set back to `active` (which also clears the failure record)",
      }),
    }),
  };
}

const documented = endpointBodies(WebhookEventTypeSchema);
export const parsedBodies = endpointBodies(safeText({ max: 100 }));

export const CreateWebhookEndpointRequest = documented.create.meta({ id: "CreateWebhookEndpointRequest" });
export const UpdateWebhookEndpointRequest = documented.update.meta({ id: "UpdateWebhookEndpointRequest" });

export const WebhookEndpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(WebhookEventTypeSchema).meta({ description: "Empty = every type" }),
    status: z.enum(WEBHOOK_ENDPOINT_STATUSES),
    disabledReason: z.string().nullable().meta({
      description: "Why it is disabled: `disabled by user`, `410 Gone from the endpoint`, or failing for WEBHOOK_DISABLE_AFTER_DAYS",
    }),
    disabledAt: nullableTimestamp(),
    failingSince: nullableTimestamp().meta({ description: "The first failed attempt since the last success" }),
    lastSuccessAt: nullableTimestamp(),
    secretRotatedUntil: nullableTimestamp().meta({
      description: "After a rotation, until when deliveries are signed with the previous secret too (24 h); null before any rotation",
    }),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: "WebhookEndpoint" });

const secret = z.string().meta({
  description: "The signing secret (`whsec_…`), shown only here: verify deliveries with it (Standard Webhooks)",
  example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
});

export const CreatedWebhookEndpoint = WebhookEndpointSchema.extend({ secret }).meta({ id: "CreatedWebhookEndpoint" });

export const RotatedWebhookSecret = z
  .object({
    secret,
    previousSecretExpiresAt: timestamp().meta({ description: "Deliveries carry a signature with the previous secret until then" }),
  })
  .meta({ id: "RotatedWebhookSecret" });

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: safeText().max(200).optional().meta({ description: "`nextCursor` of the previous page" }),
};
const nextCursor = z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page" });

export const WebhookEndpointListQuery = z.object(page);

export const WebhookEndpointListResponse = z
  .object({ data: z.array(WebhookEndpointSchema), nextCursor })
  .meta({ id: "WebhookEndpointList" });

export const WebhookTestResponse = z
  .object({ deliveryId: z.uuid().meta({ description: "Follow it at GET /webhook-deliveries/{id}" }) })
  .meta({ id: "WebhookTest" });

export const ReplayWebhookRequest = z
  .strictObject({
    since: isoDateTime().meta({ description: "Deliveries created at or after this instant" }),
    until: isoDateTime().optional().meta({ description: "…and before this one (exclusive); default now" }),
  })
  .refine((b) => b.until === undefined || Date.parse(b.until) > Date.parse(b.since), {
    message: "must be after since",
    path: ["until"],
  })
  .meta({ id: "ReplayWebhookRequest" });

export const ReplayWebhookResponse = z
  .object({ replayed: z.number().int().meta({ description: "Deliveries set to go out again, with their original ids" }) })
  .meta({ id: "ReplayWebhook" });

export const WebhookDeliveryListQuery = z.object({
  status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
  type: WebhookEventTypeSchema.optional(),
  eventId: z.uuid().optional().meta({ description: "The source event's id (a message event, sender event, inbound SMS or batch)" }),
  ...page,
});

export const WebhookDeliverySchema = z
  .object({
    id: z.uuid().meta({ description: "The `webhook-id` header: the same on every attempt, retry and replay" }),
    endpointId: z.uuid(),
    eventId: z.uuid(),
    type: z.string().meta({ description: "The event type (WebhookEventType)" }),
    status: z.enum(WEBHOOK_DELIVERY_STATUSES).meta({
      description:
        "`pending`: due (new, retried or replayed); `failed`: the last attempt failed, another is scheduled at `nextAttemptAt`; " +
        "`succeeded`: a 2xx answer; `exhausted`: the retry schedule ran out, or the endpoint answered 410",
    }),
    attempts: z.number().int(),
    nextAttemptAt: nullableTimestamp(),
    lastStatus: z.number().int().nullable().meta({ description: "HTTP status of the last answer; null when none came" }),
    lastError: z.string().nullable(),
    lastResponse: z.string().nullable().meta({ description: "The first 1 KB of the last answer's body" }),
    createdAt: timestamp(),
    deliveredAt: nullableTimestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: "WebhookDelivery" });

export const WebhookDeliveryListResponse = z
  .object({ data: z.array(WebhookDeliverySchema), nextCursor })
  .meta({ id: "WebhookDeliveryList" });

const WebhookAttemptSchema = z
  .object({
    n: z.number().int(),
    statusCode: z.number().int().nullable().meta({ description: "null when no answer came (timeout, refused, unsafe target)" }),
    error: z.string().nullable(),
    response: z.string().nullable().meta({ description: "The first 1 KB of the answer's body" }),
    durationMs: z.number().int(),
    createdAt: timestamp(),
  })
  .meta({ id: "WebhookAttempt" });

export const WebhookDeliveryDetailSchema = WebhookDeliverySchema.extend({
  payload: z.record(z.string(), z.unknown()).meta({ description: "The body every attempt sends: `{type, timestamp, data}`" }),
  attempts: z.array(WebhookAttemptSchema).meta({ description: "Every HTTP attempt, oldest first" }),
}).meta({ id: "WebhookDeliveryDetail" });
