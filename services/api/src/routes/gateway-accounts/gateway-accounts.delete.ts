import { and, eq, inArray, sql } from "drizzle-orm";
import { gatewayAccounts, messages, senders } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { accountToManage } from "../../fleet/access";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";

export function deleteGatewayAccountRoute(deps: ApiDeps) {
  return defineRoute({
    method: "delete",
    path: "/gateway-accounts/{id}",
    operationId: "deleteGatewayAccount",
    summary: "Remove a gateway account and its senders",
    description:
      "Past attempts and messages stay, without a sender. Refused (409) while waiting messages are pinned (`from`) " +
      "to one of its senders: cancel them first, or disable the account instead (`status: disabled`).",
    tags: ["fleet"],
    auth: true,
    params: IdParams,
    responses: { 204: { description: "Removed" } },
    problems: [401, 403, 404, 409],
    async handler({ params, principal, res }) {
      const account = await accountToManage(deps, principal, params.id);
      await deps.db.transaction(async (tx) => {
        // Locks the senders first, so a send pinning one of them (which takes `for share` on the
        // sender, ADR 0017) either committed before the check below or waits and finds it gone.
        await tx.select({ id: senders.id }).from(senders).where(eq(senders.accountId, account.id)).for("update");
        const [pinned] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(messages)
          .innerJoin(senders, eq(senders.id, messages.pinnedSenderId))
          .where(and(eq(senders.accountId, account.id), inArray(messages.status, ["scheduled", "queued"])));
        if (pinned!.n > 0) {
          throw new AppError("conflict", `${pinned!.n} waiting messages are pinned to this account's senders`);
        }
        await tx.delete(gatewayAccounts).where(eq(gatewayAccounts.id, account.id));
      });
      res.status(204).end();
    },
  });
}
