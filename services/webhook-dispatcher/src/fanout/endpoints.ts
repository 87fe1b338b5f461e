import { namedStatement, type Db } from "@inboxerr/db";

type EndpointRef = { id: string; events: string[] };

export type EndpointCache = {
  /** Active endpoints per owner (null: every admin's, for a shared sender's events). */
  forUsers: (userIds: readonly (string | null)[]) => Promise<Map<string | null, EndpointRef[]>>;
};

const OF_USERS = namedStatement<{ id: string; user_id: string; events: string[] }>(
  "webhook_dispatcher_endpoints_of_users",
  `select id, user_id, events from webhook_endpoints where status = 'active' and user_id = any($1::uuid[])`,
);

const OF_ADMINS = namedStatement<{ id: string; events: string[] }>(
  "webhook_dispatcher_endpoints_of_admins",
  `select e.id, e.events from webhook_endpoints e join users u on u.id = e.user_id
   where e.status = 'active' and u.role = 'admin'`,
);

/**
 * Each owner's active endpoints, kept `ttlMs` (ADR 0023: a change shows within a few seconds).
 * Owners without any are cached too: most events belong to users who registered none, and they
 * must cost no query each.
 */
export function createEndpointCache(db: Db, ttlMs = 3_000, maxUsers = 50_000): EndpointCache {
  const cache = new Map<string | null, { at: number; endpoints: EndpointRef[] }>();
  return {
    async forUsers(userIds) {
      const now = Date.now();
      const out = new Map<string | null, EndpointRef[]>();
      const missing = new Set<string | null>();
      for (const id of userIds) {
        const hit = cache.get(id);
        if (hit && now - hit.at < ttlMs) out.set(id, hit.endpoints);
        else missing.add(id);
      }
      if (missing.size === 0) return out;
      if (cache.size > maxUsers) cache.clear();
      const users = [...missing].filter((id): id is string => id !== null);
      if (users.length > 0) {
        const found = new Map<string, EndpointRef[]>(users.map((id) => [id, []]));
        for (const r of (await OF_USERS.run(db, [users])).rows) found.get(r.user_id)?.push({ id: r.id, events: r.events });
        for (const [id, endpoints] of found) {
          cache.set(id, { at: now, endpoints });
          out.set(id, endpoints);
        }
      }
      if (missing.has(null)) {
        const endpoints = (await OF_ADMINS.run(db, [])).rows.map((r) => ({ id: r.id, events: r.events }));
        cache.set(null, { at: now, endpoints });
        out.set(null, endpoints);
      }
      return out;
    },
  };
}
