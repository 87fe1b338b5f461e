import type { RequestHandler } from "express";
import { accountOf, type SimContext } from "../context";

/** `DELETE /webhooks/:id`: 204 whether or not it existed, as on SMS Gate. */
export function deleteWebhook(ctx: SimContext): RequestHandler<{ id: string }> {
  return (req, res) => {
    if (accountOf(res).registry.delete(req.params.id)) ctx.logger.info({ webhookId: req.params.id }, "webhook deleted");
    res.status(204).end();
  };
}
