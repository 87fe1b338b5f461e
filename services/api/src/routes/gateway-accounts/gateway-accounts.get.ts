import { and, eq } from "drizzle-orm";
import { gatewayAccounts } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { visibleAccounts } from "../../fleet/access";
import { toGatewayAccountJson } from "../../fleet/serialize";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { GatewayAccountSchema } from "../../schemas/fleet";

export function getGatewayAccountRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/gateway-accounts/{id}",
    operationId: "getGatewayAccount",
    summary: "One gateway account (yours or shared)",
    tags: ["fleet"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The account, without its secrets", schema: GatewayAccountSchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Gateway account");
      const [row] = await deps.db
        .select()
        .from(gatewayAccounts)
        .where(and(eq(gatewayAccounts.id, id), visibleAccounts(principal)));
      if (!row) throw notFound("Gateway account");
      res.json(toGatewayAccountJson(row));
    },
  });
}
