import { eq } from "drizzle-orm";
import { users } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { Principal } from "../auth/principal";
import type { ApiDeps } from "../deps";

/**
 * Whose metrics a request reads: a user id, or null for every tenant summed (admins only).
 * A regular user always reads their own; naming anyone else is 404, as for any foreign id
 * (invariant 5), whether or not that user exists, so the answer reveals nothing about other
 * tenants. An admin naming an unknown user gets 404 rather than a window of zeros that would
 * hide a typo.
 */
export async function metricsScope(deps: Pick<ApiDeps, "db">, principal: Principal, requested: string | undefined): Promise<string | null> {
  const userId = requested?.toLowerCase();
  if (principal.role !== "admin") {
    if (userId !== undefined && userId !== principal.userId) throw notFound("User");
    return principal.userId;
  }
  if (userId === undefined) return null;
  const [user] = await deps.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  if (!user) throw notFound("User");
  return userId;
}
