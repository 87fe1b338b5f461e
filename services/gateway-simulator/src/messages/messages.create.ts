import type { RequestHandler, Response } from "express";
import { accountOf, type SimContext } from "../context";
import { pickDevice, simOf } from "../fleet/devices";
import { sendError } from "../http/errors";
import { newId } from "../ids";
import { toMessageState } from "./message-state";
import { countSegments } from "./segments";
import { parseSend } from "./send-schema";
import type { StoredMessage } from "./store";

/**
 * `POST /messages` and the legacy `POST /message`: validate, throttle (per account), pick the
 * device (`deviceId`, else a stable hash of the id) and SIM, refuse an id that device already
 * holds with 409, else accept (202 + Location) and hand the message to the lifecycle. Only
 * 202 and 409 count as sends in the stats. An offline device still accepts: it holds the
 * message in Pending, as SMS Gate's server queues it for the phone.
 */
export function createMessage(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const account = accountOf(res);
    const now = Date.now();
    const parsed = parseSend(req.body, { skipPhoneValidation: req.query.skipPhoneValidation === "true", now });
    if (!parsed.ok) {
      ctx.metrics.sends.inc({ result: "invalid" });
      return sendError(res, 400, parsed.message);
    }
    const send = parsed.value;
    const id = send.id ?? newId();
    const device = send.deviceId === null ? pickDevice(account.devices, id) : account.devices.find((d) => d.id === send.deviceId);
    // SMS Gate's answer when the account has no such device.
    if (!device) {
      ctx.metrics.sends.inc({ result: "invalid" });
      return sendError(res, 400, "failed to select device: record not found");
    }
    if (!account.throttle.take()) {
      ctx.metrics.sends.inc({ result: "throttled" });
      return refuse(res, account.throttle.refusals(), ctx.rateLimit);
    }

    const deviceId = device.id;
    if (account.store.exists(deviceId, id)) {
      account.store.recordDuplicate(deviceId, id);
      ctx.metrics.sends.inc({ result: "duplicate" });
      return sendError(res, 409, "duplicate id");
    }

    const msg: StoredMessage = {
      id,
      deviceId,
      state: "Pending",
      isEncrypted: send.isEncrypted,
      recipients: send.phoneNumbers.map((phoneNumber) => ({ phoneNumber, state: "Pending" })),
      states: {},
      createdAt: now,
      partsCount: send.text === null ? 1 : countSegments(send.text).parts,
      simNumber: send.simNumber,
      withDeliveryReport: send.withDeliveryReport,
      validUntil: send.validUntil,
      sends: 1,
      device,
      sim: simOf(device, send.simNumber, id),
    };
    account.store.accept(msg);
    device.counts.sends += 1;
    msg.sim.counts.sends += 1;
    ctx.metrics.sends.inc({ result: "accepted" });
    account.lifecycle.start(msg, send.scheduleAt === null ? 0 : send.scheduleAt - now);
    res.setHeader("Location", `${req.baseUrl}/messages/${encodeURIComponent(id)}`);
    res.status(202).json(toMessageState(msg));
  };
}

/**
 * Over the rate limit, alternate the two ways SMS Gate pushes back: 429 with Retry-After,
 * and 503 QueueLimitExceeded (no hint), so clients must handle both.
 */
function refuse(res: Response, refusals: number, limit: number): void {
  if (refusals % 2 === 1) {
    res.setHeader("Retry-After", "1");
    return sendError(res, 429, "Too Many Requests");
  }
  sendError(res, 503, `queue limits exceeded: too many pending messages: ${limit} / ${limit}`, {
    error: "QueueLimitExceeded",
  });
}
