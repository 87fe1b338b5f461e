import { and, asc, eq } from "drizzle-orm";
import { messageAttempts, messageEvents, messages } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { loadMessageRow } from "../../messages/query";
import { toAttemptJson, toMessageJson } from "../../messages/serialize";
import { toTimelineJson } from "../../messages/timeline";
import { IdParams } from "../../schemas/common";
import { MessageDetailSchema } from "../../schemas/messages";

export function getMessageRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/messages/{id}",
    operationId: "getMessage",
    summary: "One message with its attempts and status timeline",
    tags: ["messages"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The message, its attempts and its timeline", schema: MessageDetailSchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Message");
      const row = await loadMessageRow(deps.db, and(eq(messages.id, id), eq(messages.userId, principal.userId)));
      if (!row) throw notFound("Message");
      const [attempts, events] = await Promise.all([
        deps.db.select().from(messageAttempts).where(eq(messageAttempts.messageId, id)).orderBy(asc(messageAttempts.n)),
        deps.db
          .select()
          .from(messageEvents)
          .where(eq(messageEvents.messageId, id))
          .orderBy(asc(messageEvents.occurredAt), asc(messageEvents.createdAt)),
      ]);
      res.json({ ...toMessageJson(row), attempts: attempts.map(toAttemptJson), events: toTimelineJson(row.message, events) });
    },
  });
}
