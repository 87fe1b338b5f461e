import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { RequestHandler, Response } from "express";
import { apiKeys, users } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import { withLogContext } from "@inboxerr/logger";
import type { ApiDeps } from "../deps";
import { apiKeyMatches, apiKeyPrefix } from "./api-key-token";
import { verifyAccessToken } from "./jwt";
import { setPrincipal, type Principal } from "./principal";

const userColumns = {
  userId: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  createdAt: users.createdAt,
};

/**
 * Accepts `Authorization: Bearer <JWT>` or `X-API-Key: <key>` and loads the caller from
 * Postgres on every request, so a deleted user or a changed role takes effect at once
 * (the token carries only the user id).
 */
export function authenticate(deps: Pick<ApiDeps, "db" | "config" | "logger">): RequestHandler {
  return async (req, res, next) => {
    const authorization = req.header("authorization");
    const key = req.header("x-api-key");
    let principal: Principal;
    if (authorization !== undefined) {
      principal = await fromBearer(deps, res, authorization);
    } else if (key !== undefined) {
      principal = await fromApiKey(deps, res, key);
    } else {
      throw unauthorized(res, "Send Authorization: Bearer <token> or X-API-Key: <key>");
    }
    setPrincipal(res, principal);
    withLogContext({ userId: principal.userId }, next);
  };
}

function unauthorized(res: Response, detail: string, invalidToken = false): AppError {
  res.setHeader("WWW-Authenticate", invalidToken ? 'Bearer realm="inboxerr", error="invalid_token"' : 'Bearer realm="inboxerr"');
  return new AppError("unauthorized", detail);
}

async function fromBearer(deps: Pick<ApiDeps, "db" | "config">, res: Response, header: string): Promise<Principal> {
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorized(res, "The Authorization header must be `Bearer <token>`");
  const verified = verifyAccessToken(match[1]!, deps.config.JWT_SECRET);
  if (!verified.ok) throw unauthorized(res, `Invalid access token: ${verified.reason}`, true);
  const [user] = await deps.db.select(userColumns).from(users).where(eq(users.id, verified.userId));
  if (!user) throw unauthorized(res, "Invalid access token: the user no longer exists", true);
  return { ...user, authMethod: "jwt", apiKeyId: null };
}

async function fromApiKey(deps: Pick<ApiDeps, "db" | "logger">, res: Response, key: string): Promise<Principal> {
  const prefix = apiKeyPrefix(key.trim());
  if (!prefix) throw unauthorized(res, "Invalid API key");
  const [row] = await deps.db
    .select({ ...userColumns, apiKeyId: apiKeys.id, keyHash: apiKeys.keyHash, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(eq(apiKeys.prefix, prefix));
  if (!row || row.revokedAt !== null || !apiKeyMatches(key.trim(), row.keyHash)) {
    throw unauthorized(res, "Invalid or revoked API key");
  }
  touchLastUsed(deps, row.apiKeyId);
  const { keyHash: _hash, revokedAt: _revoked, ...principal } = row;
  return { ...principal, authMethod: "api_key" };
}

// At most one write a minute per key, off the request path: last_used_at is a hint for
// humans pruning keys, not worth a synchronous UPDATE on every call.
function touchLastUsed(deps: Pick<ApiDeps, "db" | "logger">, apiKeyId: string): void {
  deps.db
    .update(apiKeys)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(apiKeys.id, apiKeyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - interval '1 minute'`))))
    .then(
      () => undefined,
      (err: unknown) => deps.logger.warn({ err }, "could not record API key use"),
    );
}
