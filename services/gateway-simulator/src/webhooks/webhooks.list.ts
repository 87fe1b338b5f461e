import type { RequestHandler } from "express";
import { accountOf } from "../context";

/** `GET /webhooks`: the account's registrations, oldest first. */
export function listWebhooks(): RequestHandler {
  return (_req, res) => {
    res.json(accountOf(res).registry.list());
  };
}
