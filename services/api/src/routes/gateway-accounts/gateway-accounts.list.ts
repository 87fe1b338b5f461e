import { asc } from "drizzle-orm";
import { gatewayAccounts } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { visibleAccounts } from "../../fleet/access";
import { toGatewayAccountJson } from "../../fleet/serialize";
import { defineRoute } from "../../http/route";
import { GatewayAccountListResponse } from "../../schemas/fleet";

export function listGatewayAccountsRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/gateway-accounts",
    operationId: "listGatewayAccounts",
    summary: "Your gateway accounts and the shared ones",
    tags: ["fleet"],
    auth: true,
    responses: { 200: { description: "Oldest first, without secrets", schema: GatewayAccountListResponse } },
    problems: [401],
    async handler({ principal, res }) {
      const rows = await deps.db
        .select()
        .from(gatewayAccounts)
        .where(visibleAccounts(principal))
        .orderBy(asc(gatewayAccounts.createdAt), asc(gatewayAccounts.id));
      res.json({ data: rows.map(toGatewayAccountJson) });
    },
  });
}
