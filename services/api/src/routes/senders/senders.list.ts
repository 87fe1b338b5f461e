import { asc, eq } from "drizzle-orm";
import { gatewayAccounts, senderUsage, senders } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { visibleSenders } from "../../fleet/access";
import { toSenderJson } from "../../fleet/serialize";
import { isUuid } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { SenderListQuery, SenderListResponse } from "../../schemas/fleet";

export function listSendersRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/senders",
    operationId: "listSenders",
    summary: "The senders (SIMs) you may route through, with health and today's usage",
    description: "Those of your own gateway accounts and of the shared ones. Usage is counted from the attempts, in UTC.",
    tags: ["fleet"],
    auth: true,
    query: SenderListQuery,
    responses: { 200: { description: "Ordered by account, device and SIM", schema: SenderListResponse } },
    problems: [400, 401],
    async handler({ query, principal, res }) {
      // A malformed accountId names no account: an empty list, like an unknown one.
      if (query.accountId !== undefined && !isUuid(query.accountId)) return void res.json({ data: [] });
      const rows = await visibleSenders(
        deps,
        principal,
        query.accountId ? eq(senders.accountId, query.accountId) : undefined,
        query.status ? eq(senders.status, query.status) : undefined,
      ).orderBy(asc(gatewayAccounts.createdAt), asc(senders.accountId), asc(senders.deviceId), asc(senders.simNumber));
      const usage = await senderUsage(deps.db, rows.map((r) => r.sender.id));
      res.json({ data: rows.map((r) => toSenderJson(r.sender, r.ownerUserId === null, usage.get(r.sender.id))) });
    },
  });
}
