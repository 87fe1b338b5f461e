import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { sendError } from "./errors";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * HTTP Basic auth against one username/password, as SMS Gate's cloud account has. Digests
 * make both sides equal length, so the comparison is constant time whatever was sent.
 */
export function basicAuth(username: string, password: string): RequestHandler {
  const expected = digest(`${username}:${password}`);
  return (req, res, next) => {
    const header = req.get("authorization") ?? "";
    const match = /^basic\s+(.+)$/i.exec(header.trim());
    const given = match?.[1] ? Buffer.from(match[1], "base64").toString("utf8") : null;
    if (given !== null && timingSafeEqual(digest(given), expected)) return next();
    sendError(res, 401, "Unauthorized");
  };
}
