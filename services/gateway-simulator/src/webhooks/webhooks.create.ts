import { SMSGATE_EVENT_NAMES } from "@inboxerr/gateway";
import type { RequestHandler } from "express";
import { z } from "zod";
import { accountOf, type SimContext } from "../context";
import { sendError, validationMessage } from "../http/errors";

// The real server insists on https; the simulator also takes http so local receivers work.
const webhookSchema = z.object({
  id: z.string().max(36).nullish(),
  url: z.string().refine((v) => /^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v), "must be an http(s) URL"),
  event: z.enum(SMSGATE_EVENT_NAMES, { error: "invalid event type" }),
  deviceId: z.string().max(21).nullish(),
});

/** `POST /webhooks`: registers one event → URL for the account; the same id replaces it (201 either way). */
export function createWebhook(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const parsed = webhookSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, validationMessage(parsed.error));
    const hook = accountOf(res).registry.upsert({
      id: parsed.data.id ?? undefined,
      url: parsed.data.url,
      event: parsed.data.event,
      deviceId: parsed.data.deviceId ?? null,
    });
    ctx.logger.info({ webhookId: hook.id, event: hook.event, deviceId: hook.deviceId }, "webhook registered");
    res.status(201).json(hook);
  };
}
