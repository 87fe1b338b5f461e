import { eq } from "drizzle-orm";
import { gatewayAccounts } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { accountToManage, assertNameFree, uniqueName } from "../../fleet/access";
import { sealAccountSecrets } from "../../fleet/secrets";
import { toGatewayAccountJson } from "../../fleet/serialize";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { GatewayAccountSchema, UpdateGatewayAccountRequest } from "../../schemas/fleet";

export function updateGatewayAccountRoute(deps: ApiDeps) {
  return defineRoute({
    method: "patch",
    path: "/gateway-accounts/{id}",
    operationId: "updateGatewayAccount",
    summary: "Change a gateway account",
    description:
      "Your own account, or a shared one (admins). The fields given are changed; a secret given replaces the stored " +
      "one. The `default` account (`managedBy: env`) is changed through the environment only (409).",
    tags: ["fleet"],
    auth: true,
    params: IdParams,
    body: UpdateGatewayAccountRequest,
    responses: { 200: { description: "The account, without its secrets", schema: GatewayAccountSchema } },
    problems: [400, 401, 403, 404, 409],
    async handler({ params, body, principal, res }) {
      const account = await accountToManage(deps, principal, params.id);
      assertNameFree(account.ownerUserId === null, body.name);
      const { password, webhookSigningKey, ...plain } = body;
      const [row] = await uniqueName(
        deps.db
          .update(gatewayAccounts)
          .set({ ...plain, ...sealAccountSecrets(deps.secrets, { password, webhookSigningKey }), updatedAt: new Date() })
          .where(eq(gatewayAccounts.id, account.id))
          .returning(),
      );
      res.json(toGatewayAccountJson(row!));
    },
  });
}
