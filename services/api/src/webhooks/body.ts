import type { z } from "zod";
import { AppError, type FieldError } from "@inboxerr/http";
import { isWebhookEventType, type WebhookEventType } from "@inboxerr/webhooks";

type WithEvents = { events?: string[] | undefined };

/**
 * Parses an endpoint body with `schema` (events as any strings), then refuses unknown event
 * types with a 422 naming each, so a typo in a type reads as such and not as a malformed body.
 * Listed types are kept once each, in the order given.
 */
export function parseEndpointBody<S extends z.ZodType<WithEvents>>(schema: S) {
  return async (body: unknown): Promise<Omit<z.output<S>, "events"> & { events?: WebhookEventType[] }> => {
    const parsed = schema.parse(body);
    if (parsed.events === undefined) return parsed as Omit<z.output<S>, "events">;
    const errors: FieldError[] = parsed.events.flatMap((type, i) =>
      isWebhookEventType(type) ? [] : [{ path: `events.${i}`, code: "unknown_event_type", detail: `"${type}" is not a webhook event type` }],
    );
    if (errors.length) throw new AppError("unprocessable", "Unknown webhook event types; see errors", { errors });
    return { ...parsed, events: [...new Set(parsed.events as WebhookEventType[])] };
  };
}
