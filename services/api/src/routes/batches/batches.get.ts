import { and, eq } from "drizzle-orm";
import { batches } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import { batchStatusCounts, toBatchJson } from "@inboxerr/webhooks";
import type { ApiDeps } from "../../deps";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { BatchSchema } from "../../schemas/messages";

export function getBatchRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/batches/{id}",
    operationId: "getBatch",
    summary: "Progress of a bulk send",
    description: "`total` messages and how many are in each status now.",
    tags: ["messages"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The batch and its counts per status", schema: BatchSchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Batch");
      const [batch] = await deps.db
        .select()
        .from(batches)
        .where(and(eq(batches.id, id), eq(batches.userId, principal.userId)));
      if (!batch) throw notFound("Batch");
      const counts = await batchStatusCounts(deps.db, [id]);
      res.json(toBatchJson(batch, counts.get(id)!));
    },
  });
}
