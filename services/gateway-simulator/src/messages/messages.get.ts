import type { RequestHandler } from "express";
import { accountOf } from "../context";
import { sendError } from "../http/errors";
import { toMessageState } from "./message-state";

/** `GET /messages/:id`: the message's current state, recipients and state history. */
export function getMessage(): RequestHandler<{ id: string }> {
  return (req, res) => {
    const msg = accountOf(res).store.get(req.params.id);
    if (!msg) return sendError(res, 404, "message not found");
    res.json(toMessageState(msg));
  };
}
