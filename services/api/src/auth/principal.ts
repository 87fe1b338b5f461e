import type { Response } from "express";
import { AppError } from "@inboxerr/http";

/** Who is calling: set by the authenticate middleware, read by handlers. */
export type Principal = {
  userId: string;
  email: string;
  name: string | null;
  role: "user" | "admin";
  createdAt: Date;
  authMethod: "jwt" | "api_key";
  apiKeyId: string | null;
};

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals.principal = principal;
}

export function requirePrincipal(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new AppError("unauthorized", "Authentication required");
  return principal;
}
