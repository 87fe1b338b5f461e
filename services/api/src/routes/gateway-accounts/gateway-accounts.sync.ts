import { eq } from "drizzle-orm";
import { AccountSyncError, senders, syncGatewayAccount } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { accountToOperate } from "../../fleet/access";
import { listSenderJson } from "../../fleet/sender-list";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { SenderSyncResponse } from "../../schemas/fleet";

export function syncGatewayAccountRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/gateway-accounts/{id}/sync",
    operationId: "syncGatewayAccount",
    summary: "Discover the account's phones and SIMs now",
    description:
      "Reads the gateway's `GET /devices` and adds or updates one sender per SIM (a phone without SIM cards: one " +
      "sender with `simNumber: null`): phone number and carrier when the gateway knows them, and `lastSeenAt`. " +
      "Label, limits and status are kept (a paused sender stays paused). Senders the gateway no longer lists are " +
      "kept unchanged and named in `unreported`. The sender-worker does the same every `SENDER_SYNC_SECONDS`. " +
      "Your own account, or a shared one (admins), the `default` one included. 502 when the gateway refuses (e.g. " +
      "wrong credentials) or does not answer within `SMSGATE_TIMEOUT_MS`; nothing is changed then.",
    tags: ["fleet"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The account's senders after the sync", schema: SenderSyncResponse } },
    problems: [401, 403, 404, 502],
    async handler({ params, principal, res }) {
      const account = await accountToOperate(deps, principal, params.id);
      const settings = { secrets: deps.secrets, defaultPassword: deps.config.SMSGATE_PASSWORD, timeoutMs: deps.config.SMSGATE_TIMEOUT_MS };
      let result;
      try {
        result = await syncGatewayAccount(deps.db, account, settings);
      } catch (err) {
        if (!(err instanceof AccountSyncError)) throw err;
        throw new AppError(err.kind === "gateway" ? "bad_gateway" : "service_unavailable", err.message);
      }
      const data = await listSenderJson(deps, principal, eq(senders.accountId, account.id));
      res.json({ data, devices: result.devices, unreported: result.unreported });
    },
  });
}
