import { and, eq, inArray, sql } from "drizzle-orm";
import { gatewayAccounts, LIVE_ATTEMPT_STATUSES, messageAttempts, messages, senders } from "@inboxerr/db";
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
      "to one of its senders: cancel them first, or disable the account instead (`status: disabled`). Refused (409) " +
      "too while one of its senders has a message in flight (an attempt sending, accepted or sent), whose retry would otherwise " +
      "go out through another gateway: retry when they finish, after disabling the account so no new ones start.",
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
        // A live attempt would lose its sender (set null), and the sender-worker's retry of it
        // would then go out through the env's default gateway under the same attempt id: a
        // second send. Under the senders' lock no new attempt can name them (its foreign key
        // check waits on it), so the count holds until the delete commits (ADR 0017).
        const [live] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(messageAttempts)
          .innerJoin(senders, eq(senders.id, messageAttempts.senderId))
          .where(and(eq(senders.accountId, account.id), inArray(messageAttempts.status, [...LIVE_ATTEMPT_STATUSES])));
        if (live!.n > 0) {
          throw new AppError(
            "conflict",
            `${live!.n} messages are in flight through this account's senders; retry when they finish (disable the account first, so no new ones start)`,
          );
        }
        await tx.delete(gatewayAccounts).where(eq(gatewayAccounts.id, account.id));
      });
      res.status(204).end();
    },
  });
}
