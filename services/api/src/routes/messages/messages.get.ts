import { and, asc, eq } from "drizzle-orm";
import { messageEvents, messages } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { toMessageJson } from "../../messages/serialize";
import { toTimelineJson } from "../../messages/timeline";
import { IdParams } from "../../schemas/common";
import { MessageDetailSchema } from "../../schemas/messages";

export function getMessageRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/messages/{id}",
    operationId: "getMessage",
    summary: "One message with its status timeline",
    tags: ["messages"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The message and its timeline", schema: MessageDetailSchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Message");
      const [message] = await deps.db
        .select()
        .from(messages)
        .where(and(eq(messages.id, id), eq(messages.userId, principal.userId)));
      if (!message) throw notFound("Message");
      const events = await deps.db
        .select()
        .from(messageEvents)
        .where(eq(messageEvents.messageId, id))
        .orderBy(asc(messageEvents.occurredAt), asc(messageEvents.createdAt));
      res.json({ ...toMessageJson(message), events: toTimelineJson(message, events) });
    },
  });
}
