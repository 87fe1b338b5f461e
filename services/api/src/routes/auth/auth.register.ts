import type { RequestHandler } from "express";
import { users } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import { hashPassword } from "../../auth/password";
import { judgePassword } from "../../auth/password-strength";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { toUserJson } from "../../messages/serialize";
import { RegisterRequest, UserSchema } from "../../schemas/auth";

export function registerRoute(deps: ApiDeps, rateLimit: RequestHandler) {
  return defineRoute({
    method: "post",
    path: "/auth/register",
    operationId: "register",
    summary: "Create an account",
    description:
      "Always creates a `user`; admins are made only with `pnpm admin:create`. The password must score at least 3 of 4 " +
      "on the zxcvbn strength estimate (first 64 characters), counting the email and name as known to an attacker; " +
      "a weaker one answers 400 with a `weak_password` error on `password` that says why.",
    tags: ["auth"],
    auth: false,
    before: [rateLimit],
    body: RegisterRequest,
    responses: { 201: { description: "The new user", schema: UserSchema } },
    problems: [400, 409, 429],
    async handler({ body, res }) {
      const verdict = judgePassword(body.password, body);
      if (!verdict.ok) {
        throw new AppError("validation_failed", "The password is too easy to guess", {
          errors: [{ path: "password", code: "weak_password", detail: verdict.reason }],
        });
      }
      const passwordHash = await hashPassword(body.password);
      // role is set here, never from the body: the schema drops unknown fields anyway.
      const [user] = await deps.db
        .insert(users)
        .values({ email: body.email, passwordHash, name: body.name ?? null, role: "user" })
        .onConflictDoNothing({ target: users.email })
        .returning();
      if (!user) throw new AppError("conflict", "An account with this email already exists");
      res.status(201).json(toUserJson(user));
    },
  });
}
