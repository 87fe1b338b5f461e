import { eq } from "drizzle-orm";
import { senders } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { listSenderJson } from "../../fleet/sender-list";
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
      const data = await listSenderJson(
        deps,
        principal,
        query.accountId ? eq(senders.accountId, query.accountId) : undefined,
        query.status ? eq(senders.status, query.status) : undefined,
      );
      res.json({ data });
    },
  });
}
