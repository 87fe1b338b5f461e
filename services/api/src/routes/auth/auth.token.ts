import { eq } from "drizzle-orm";
import type { RequestHandler } from "express";
import { users } from "@inboxerr/db";
import { AppError, formBody } from "@inboxerr/http";
import { signAccessToken } from "../../auth/jwt";
import { verifyAgainstDummy, verifyPassword } from "../../auth/password";
import type { AccountLoginLimit } from "../../auth/rate-limit";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { TokenForm, TokenRequest, TokenResponse } from "../../schemas/auth";

export function tokenRoute(deps: ApiDeps, rateLimit: RequestHandler, accountLimit: AccountLoginLimit) {
  return defineRoute({
    method: "post",
    path: "/auth/token",
    operationId: "createToken",
    summary: "Exchange email and password for an access token",
    description:
      "JSON `{email, password}` or the OAuth 2.0 password-grant form (`username`, `password`). Limited per IP and, " +
      "across replicas, per email: after 10 failed logins in 15 minutes that email answers 429 with Retry-After, " +
      "whether or not an account has it; a successful login clears the count.",
    tags: ["auth"],
    auth: false,
    // An OAuth password grant has a handful of fields: more than 20 answers 413 unparsed.
    before: [rateLimit, formBody({ limit: "16kb", parameterLimit: 20 })],
    body: TokenRequest,
    form: TokenForm,
    responses: { 200: { description: "A bearer token (RFC 6749 field names)", schema: TokenResponse } },
    problems: [400, 401, 429],
    async handler({ body, res }) {
      const email = "username" in body ? body.username : body.email;
      await accountLimit.attempt(email);
      const [user] = await deps.db.select({ id: users.id, passwordHash: users.passwordHash }).from(users).where(eq(users.email, email));
      const ok = user ? await verifyPassword(body.password, user.passwordHash) : await verifyAgainstDummy(body.password);
      if (!user || !ok) throw new AppError("unauthorized", "Invalid email or password");
      await accountLimit.succeeded(email);
      const expiresIn = deps.config.JWT_EXPIRES_IN;
      res.setHeader("Cache-Control", "no-store");
      res.json({ access_token: signAccessToken(user.id, deps.config.JWT_SECRET, expiresIn), token_type: "Bearer", expires_in: expiresIn });
    },
  });
}
