import type { RequestHandler } from "express";
import { accountOf, type SimContext } from "../context";
import { toDeviceDto } from "./devices";

/** `GET /devices`: the account's phones in SMS Gate's `smsgateway.Device` shape, with their SIMs. */
export function listDevices(ctx: SimContext): RequestHandler {
  return (_req, res) => {
    const now = ctx.clock();
    res.json(accountOf(res).devices.map((d) => toDeviceDto(d, now)));
  };
}
