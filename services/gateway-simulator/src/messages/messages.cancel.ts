import type { RequestHandler } from "express";
import { accountOf } from "../context";
import { sendError } from "../http/errors";
import { toMessageState } from "./message-state";

/**
 * `DELETE /messages/:id`: cancels a Pending message (200 with its state, now `Cancelled`, and
 * an `sms:cancelled` webhook). Like SMS Gate: 404 for an unknown id, 409 once it left Pending.
 * The real server answers `Cancelling` until the phone confirms; the simulated phone confirms
 * at once.
 */
export function cancelMessage(): RequestHandler<{ id: string }> {
  return (req, res) => {
    const account = accountOf(res);
    const msg = account.store.get(req.params.id);
    if (!msg) return sendError(res, 404, "failed to cancel message: message not found");
    if (!account.lifecycle.cancel(msg)) return sendError(res, 409, "failed to cancel message: message is not pending");
    res.json(toMessageState(msg));
  };
}
