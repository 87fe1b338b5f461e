import { and, eq, sql } from "drizzle-orm";
import { apiKeys } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";

export function revokeApiKeyRoute(deps: ApiDeps) {
  return defineRoute({
    method: "delete",
    path: "/api-keys/{id}",
    operationId: "revokeApiKey",
    summary: "Revoke an API key",
    description: "Takes effect on the next request. Revoking an already revoked key is a no-op.",
    tags: ["api-keys"],
    auth: true,
    params: IdParams,
    responses: { 204: { description: "Revoked" } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "API key");
      const rows = await deps.db
        .update(apiKeys)
        // coalesce keeps the first revocation time on a repeat.
        .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
        .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, principal.userId)))
        .returning({ id: apiKeys.id });
      if (rows.length === 0) throw notFound("API key");
      res.status(204).end();
    },
  });
}
