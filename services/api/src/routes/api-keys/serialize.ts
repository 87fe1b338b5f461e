import type { ApiKey } from "@inboxerr/db";

/** Never the hash: a listed key shows only what identifies it. */
export function toApiKeyJson(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    prefix: `ibx_${k.prefix}`,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}
