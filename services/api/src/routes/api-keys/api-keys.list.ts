import { desc, eq } from "drizzle-orm";
import { apiKeys } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { ApiKeyListResponse } from "../../schemas/api-keys";
import { toApiKeyJson } from "./serialize";

export function listApiKeysRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/api-keys",
    operationId: "listApiKeys",
    summary: "List your API keys (without secrets)",
    tags: ["api-keys"],
    auth: true,
    responses: { 200: { description: "Your keys, newest first, revoked ones included", schema: ApiKeyListResponse } },
    problems: [401],
    async handler({ principal, res }) {
      const rows = await deps.db
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.userId, principal.userId))
        .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
      res.json({ data: rows.map(toApiKeyJson) });
    },
  });
}
