import { and, eq } from "drizzle-orm";
import { withTimeout } from "@inboxerr/batch";
import { messages, transition } from "@inboxerr/db";
import { AppError, notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { loadMessageRow } from "../../messages/query";
import { toMessageJson } from "../../messages/serialize";
import { IdParams } from "../../schemas/common";
import { MessageSchema } from "../../schemas/messages";

export function cancelMessageRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/messages/{id}/cancel",
    operationId: "cancelMessage",
    summary: "Cancel a message that has not gone to the gateway yet",
    description: "Only from `scheduled` or `queued`; any other status answers 409.",
    tags: ["messages"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The cancelled message", schema: MessageSchema } },
    problems: [401, 404, 409],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Message");
      const owned = and(eq(messages.id, id), eq(messages.userId, principal.userId));
      // The conditional UPDATE and its outbox row are one statement: a racing worker that
      // claims the message first makes this a no-op, never a cancelled-but-sent message.
      const event = await transition(deps.db, { messageId: id, to: "cancelled", userId: principal.userId });
      const row = await loadMessageRow(deps.db, owned);
      if (!row) throw notFound("Message");
      const { message } = row;
      if (!event) {
        throw new AppError("conflict", `The message is ${message.status}; only scheduled or queued messages can be cancelled`, {
          currentStatus: message.status,
        });
      }
      // After commit, in the background; on failure published_at stays null for the outbox relay.
      deps.outbox.publish([event]);
      await dropSendJob(deps, id);
      res.json(toMessageJson(row));
    },
  });
}

// Frees Redis early; the sender also skips a cancelled message at dequeue, so this is best effort.
async function dropSendJob(deps: ApiDeps, id: string): Promise<void> {
  if (deps.redis.status !== "ready") return;
  await withTimeout(deps.queues.smsSend.remove(id), deps.redisTimeoutMs, "remove job").catch(() => undefined);
}
