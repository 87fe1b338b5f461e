import { eq } from "drizzle-orm";
import { messages } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { API_PREFIX, defineRoute } from "../../http/route";
import { loadMessageRow } from "../../messages/query";
import { toMessageJson } from "../../messages/serialize";
import { IdempotencyHeaders } from "../../schemas/common";
import { MessageSchema, SendMessageRequest } from "../../schemas/messages";
import { enqueueCommitted } from "../../send/enqueue";
import { requestHash, runIdempotent } from "../../send/idempotency";
import { prepareRecipients } from "../../send/prepare";
import { parseFrom, resolvePinnedSender } from "../../send/sender-pin";
import { initialStatus, insertMessages } from "../../send/store";
import { sendIdempotently } from "./send-response";

export function createMessageRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/messages",
    operationId: "sendMessage",
    summary: "Send one SMS",
    description:
      "Stores the message and queues it for sending; 202 means stored, not sent. Follow it with GET /messages/{id}. " +
      "An unusable number or text answers 422 with `errors[].code` (`invalid_phone`, `text_too_long`); " +
      "a customId you already used answers 409 (`duplicate_custom_id`). " +
      "`from` pins the message to one of your senders; one you may not use answers 422 and stores nothing.",
    tags: ["messages"],
    auth: true,
    headers: IdempotencyHeaders,
    body: SendMessageRequest,
    responses: { 202: { description: "Accepted: stored and queued (or scheduled)", schema: MessageSchema } },
    problems: [400, 401, 409, 422],
    async handler({ req, res, body, headers, principal }) {
      const { candidates, rejections } = await prepareRecipients([body], undefined, deps.phones, false);
      const rejection = rejections[0];
      if (rejection) {
        deps.metrics.rejected.inc({ code: rejection.code });
        const path = rejection.code === "invalid_phone" ? "to" : "text";
        throw new AppError("unprocessable", `Cannot send: ${rejection.detail}`, {
          errors: [{ path, code: rejection.code, detail: rejection.detail }],
        });
      }
      const from = body.from === undefined ? null : parseFrom(body.from, deps.phones);
      const now = new Date();
      const window = {
        scheduledAt: body.scheduledAt ? new Date(body.scheduledAt) : null,
        validUntil: body.validUntil ? new Date(body.validUntil) : null,
        priority: body.priority,
      };
      const result = await runIdempotent(
        deps.db,
        { userId: principal.userId, key: headers["idempotency-key"], requestHash: requestHash("POST", "/messages", req.body) },
        async (tx) => {
          const pinnedSenderId = from && (await resolvePinnedSender(tx, principal, from));
          const { ids } = await insertMessages(tx, { ...window, userId: principal.userId, batchId: null, pinnedSenderId, candidates, now });
          const id = ids.get(0);
          if (!id) {
            throw new AppError("conflict", "You already have a message with this customId", {
              errors: [{ path: "customId", code: "duplicate_custom_id", detail: "customId already used" }],
            });
          }
          const row = await loadMessageRow(tx, eq(messages.id, id));
          return { status: 202, body: toMessageJson(row!) };
        },
      );
      if (!result.replayed) {
        const message = result.body as { id: string };
        deps.metrics.accepted.inc({ endpoint: "single" }, 1);
        const sendAt = initialStatus(window.scheduledAt, now) === "scheduled" ? window.scheduledAt : null;
        await enqueueCommitted(deps, [{ id: message.id, priority: window.priority, sendAt }]);
      }
      res.setHeader("Location", `${API_PREFIX}/messages/${(result.body as { id: string }).id}`);
      sendIdempotently(res, result);
    },
  });
}
