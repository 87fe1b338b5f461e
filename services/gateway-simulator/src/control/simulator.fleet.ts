import type { RequestHandler } from "express";
import { z } from "zod";
import type { SimContext } from "../context";
import { toDeviceDto } from "../fleet/devices";
import { sendError, validationMessage } from "../http/errors";

const offlineSchema = z.object({ fetched: z.boolean().optional() }).strict();

/**
 * `POST /simulator/devices/:id/offline` and `/online` (204). Offline, a device holds the
 * messages it gets in Pending, sends no `system:ping` and its `lastSeen` freezes; back online
 * it sends what it held. Offline takes an optional body `{"fetched": true}`: the phone took its
 * messages before it went dark, so the ones it holds, and the ones it gets while offline, are
 * Processed (a cancel meets 409). 404 for a device no account has; 400 for a bad body.
 */
export function setDeviceOnline(ctx: SimContext, online: boolean): RequestHandler<{ id: string }> {
  return (req, res) => {
    const parsed = online ? undefined : offlineSchema.safeParse(req.body ?? {});
    if (parsed && !parsed.success) return sendError(res, 400, validationMessage(parsed.error));
    const found = ctx.fleet.findDevice(req.params.id);
    if (!found) return sendError(res, 404, "device not found");
    const { account, device } = found;
    // An offline phone may still be told it fetched; nothing un-fetches but coming back.
    const fetched = online ? false : device.fetched || parsed?.data.fetched === true;
    if (device.online === online && device.fetched === fetched) return res.status(204).end();
    if (device.online !== online) device.offlineSince = online ? null : ctx.clock();
    device.online = online;
    device.fetched = fetched;
    if (online) account.lifecycle.resume(device);
    else if (fetched) account.lifecycle.fetched(device);
    ctx.logger.info({ deviceId: device.id, account: account.username, online, fetched }, "device online state changed");
    res.status(204).end();
  };
}

const limitSchema = z.object({
  deviceId: z.string().min(1).max(21),
  simNumber: z.number().int().min(1).max(3),
  dailyLimit: z.number().int().min(0).nullable(),
});

/**
 * `POST /simulator/sims/limit {deviceId, simNumber, dailyLimit}` (204): after `dailyLimit`
 * sends in the phone's day, that SIM's sends fail with RESULT_ERROR_LIMIT_EXCEEDED; null
 * lifts the limit. Sends already made today count.
 */
export function setSimLimit(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const parsed = limitSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, validationMessage(parsed.error));
    const sim = ctx.fleet.findDevice(parsed.data.deviceId)?.device.sims.find((s) => s.simNumber === parsed.data.simNumber);
    if (!sim) return sendError(res, 404, "SIM not found");
    sim.dailyLimit = parsed.data.dailyLimit;
    res.status(204).end();
  };
}

const accountSchema = z.object({
  username: z.string().min(1).max(100).regex(/^[^:]+$/, "must not contain ':'"),
  password: z.string().min(1).max(200),
  signingKey: z.string().min(1).max(200).optional(),
});

/**
 * `POST /simulator/accounts {username, password, signingKey?}`: one more account, with its
 * own `SIMULATOR_DEVICES` × `SIMULATOR_SIMS_PER_DEVICE` phones. 201 `{username, devices}`;
 * 409 when the username exists. Reset keeps it.
 */
export function createAccount(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const parsed = accountSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, validationMessage(parsed.error));
    if (ctx.fleet.get(parsed.data.username)) return sendError(res, 409, "account already exists");
    const account = ctx.fleet.add(parsed.data);
    const now = ctx.clock();
    res.status(201).json({ username: account.username, devices: account.devices.map((d) => toDeviceDto(d, now)) });
  };
}
