import { createHash } from "node:crypto";
import { WEBHOOK_EVENTS } from "@inboxerr/gateway";
import type { RequestHandler } from "express";
import { z } from "zod";
import type { SimContext } from "../context";
import { phoneTimestamp } from "../delivery/timestamps";
import { sendError, validationMessage } from "../http/errors";

const inboundSchema = z.object({
  phoneNumber: z.string().min(1).max(512),
  message: z.string().max(65535),
  simNumber: z.number().int().min(1).max(3).nullish(),
  deviceId: z.string().min(1).max(21).nullish(),
});

/**
 * `POST /simulator/inbound {phoneNumber, message, simNumber?, deviceId?}`: the phone receives
 * an SMS, so every `sms:received` webhook of its account gets it. The device is any account's
 * (default: the primary account's first). Answers 202 `{messageId, webhooks}`; 404 for an
 * unknown device.
 */
export function simulateInbound(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const parsed = inboundSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, validationMessage(parsed.error));
    const { phoneNumber, message } = parsed.data;
    const primary = ctx.fleet.primary;
    const found = parsed.data.deviceId ? ctx.fleet.findDevice(parsed.data.deviceId) : { account: primary, device: primary.devices[0] };
    if (!found?.device) return sendError(res, 404, "device not found");
    const now = Date.now();
    const receivedAt = phoneTimestamp(now, ctx.utcOffsetMinutes);
    // The phone derives this id from the content: it is not unique, like the real one.
    const messageId = createHash("sha256").update(`${phoneNumber}\n${message}\n${receivedAt}`).digest("hex").slice(0, 16);
    const webhooks = found.account.emit(WEBHOOK_EVENTS.smsReceived, found.device.id, {
      messageId,
      message,
      phoneNumber,
      sender: phoneNumber,
      recipient: null,
      simNumber: parsed.data.simNumber ?? null,
      receivedAt,
    });
    res.status(202).json({ messageId, webhooks });
  };
}
