import { eq } from "drizzle-orm";
import { senderUsage, senders } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { visibleSenders } from "../../fleet/access";
import { toSenderJson } from "../../fleet/serialize";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { SenderSchema } from "../../schemas/fleet";

export function getSenderRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/senders/{id}",
    operationId: "getSender",
    summary: "One sender, with health and today's usage",
    tags: ["fleet"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The sender", schema: SenderSchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Sender");
      const [row] = await visibleSenders(deps, principal, eq(senders.id, id));
      if (!row) throw notFound("Sender");
      const usage = await senderUsage(deps.db, [id]);
      res.json(toSenderJson(row.sender, row.ownerUserId === null, usage.get(id)));
    },
  });
}
