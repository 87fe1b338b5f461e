import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import type { Fleet } from "../fleet/accounts";
import { sendError } from "./errors";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * HTTP Basic auth against the simulator's accounts, as SMS Gate's cloud has one username and
 * password per account; the account goes to `res.locals.account`. Digests make both sides
 * equal length, so the comparison is constant time whatever was sent.
 */
export function basicAuth(fleet: Fleet): RequestHandler {
  return (req, res, next) => {
    const header = req.get("authorization") ?? "";
    const match = /^basic\s+(.+)$/i.exec(header.trim());
    const given = match?.[1] ? Buffer.from(match[1], "base64").toString("utf8") : null;
    const colon = given === null ? -1 : given.indexOf(":");
    const account = given !== null && colon > 0 ? fleet.get(given.slice(0, colon)) : undefined;
    if (given !== null && account && timingSafeEqual(digest(given), digest(`${account.username}:${account.password}`))) {
      res.locals.account = account;
      return next();
    }
    sendError(res, 401, "Unauthorized");
  };
}
