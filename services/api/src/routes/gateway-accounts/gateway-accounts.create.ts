import { gatewayAccounts } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { assertNameFree, uniqueName } from "../../fleet/access";
import { sealAccountSecrets } from "../../fleet/secrets";
import { toGatewayAccountJson } from "../../fleet/serialize";
import { defineRoute } from "../../http/route";
import { CreateGatewayAccountRequest, GatewayAccountSchema } from "../../schemas/fleet";

export function createGatewayAccountRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/gateway-accounts",
    operationId: "createGatewayAccount",
    summary: "Add an SMS Gate account",
    description:
      "Your own account, or with `shared: true` (admins) one every user may route through. Secrets are stored " +
      "encrypted and never returned; storing them needs SECRETS_KEY (503 without). `POST /gateway-accounts/{id}/sync` " +
      "then discovers its phones and SIMs as senders.",
    tags: ["fleet"],
    auth: true,
    body: CreateGatewayAccountRequest,
    responses: { 201: { description: "The account, without its secrets", schema: GatewayAccountSchema } },
    problems: [400, 401, 403, 409],
    async handler({ body, principal, res }) {
      if (body.shared && principal.role !== "admin") throw new AppError("forbidden", "Only an admin may add a shared gateway account");
      assertNameFree(body.shared, body.name);
      const [row] = await uniqueName(
        deps.db
          .insert(gatewayAccounts)
          .values({
            ownerUserId: body.shared ? null : principal.userId,
            name: body.name,
            baseUrl: body.baseUrl,
            username: body.username,
            ...sealAccountSecrets(deps.secrets, body),
          })
          .returning(),
      );
      res.status(201).json(toGatewayAccountJson(row!));
    },
  });
}
