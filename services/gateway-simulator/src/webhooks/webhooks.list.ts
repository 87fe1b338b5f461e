import type { RequestHandler } from "express";
import type { SimContext } from "../context";

/** `GET /webhooks`: every registration, oldest first. */
export function listWebhooks(ctx: SimContext): RequestHandler {
  return (_req, res) => {
    res.json(ctx.registry.list());
  };
}
