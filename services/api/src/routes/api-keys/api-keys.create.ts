import { apiKeys } from "@inboxerr/db";
import { generateApiKey } from "../../auth/api-key-token";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { CreateApiKeyRequest, CreatedApiKeySchema } from "../../schemas/api-keys";
import { toApiKeyJson } from "./serialize";

export function createApiKeyRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/api-keys",
    operationId: "createApiKey",
    summary: "Create an API key",
    description: "The response carries the key itself; it is never shown again (only its SHA-256 is stored).",
    tags: ["api-keys"],
    auth: true,
    body: CreateApiKeyRequest,
    responses: { 201: { description: "The new key, secret included", schema: CreatedApiKeySchema } },
    problems: [400, 401],
    async handler({ body, principal, res }) {
      const { key, prefix, hash } = generateApiKey();
      const [row] = await deps.db.insert(apiKeys).values({ userId: principal.userId, name: body.name, prefix, keyHash: hash }).returning();
      res.setHeader("Cache-Control", "no-store");
      res.status(201).json({ ...toApiKeyJson(row!), key });
    },
  });
}
