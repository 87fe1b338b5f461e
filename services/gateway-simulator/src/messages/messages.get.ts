import type { RequestHandler } from "express";
import type { SimContext } from "../context";
import { sendError } from "../http/errors";
import { toMessageState } from "./message-state";

/** `GET /messages/:id`: the message's current state, recipients and state history. */
export function getMessage(ctx: SimContext): RequestHandler<{ id: string }> {
  return (req, res) => {
    const msg = ctx.store.get(req.params.id);
    if (!msg) return sendError(res, 404, "message not found");
    res.json(toMessageState(msg));
  };
}
