import { and, desc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { messages, senders } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { decodeCursor, encodeCursor } from "../../messages/cursor";
import { messageRowFields, senderOfMessage } from "../../messages/query";
import { toMessageJson } from "../../messages/serialize";
import { ListMessagesQuery, MessageListResponse } from "../../schemas/messages";

// Exact to the microsecond and in UTC whatever the session time zone: the cursor's key.
const createdAtText = sql<string>`to_char(${messages.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function listMessagesRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/messages",
    operationId: "listMessages",
    summary: "List your messages, newest first",
    description: "Keyset pagination: pass `nextCursor` back as `cursor` until it is null. Pages never skip or repeat a message.",
    tags: ["messages"],
    auth: true,
    query: ListMessagesQuery,
    responses: { 200: { description: "One page of messages", schema: MessageListResponse } },
    problems: [400, 401],
    async handler({ query, principal, res }) {
      const where: SQL[] = [eq(messages.userId, principal.userId)];
      if (query.status) where.push(eq(messages.status, query.status));
      if (query.batchId) where.push(eq(messages.batchId, query.batchId));
      if (query.senderId) where.push(eq(messages.senderId, query.senderId));
      if (query.createdAfter) where.push(gte(messages.createdAt, new Date(query.createdAfter)));
      if (query.createdBefore) where.push(lt(messages.createdAt, new Date(query.createdBefore)));
      if (query.phone !== undefined) {
        const phone = deps.phones.normalize(query.phone);
        if (!phone.ok) {
          throw new AppError("validation_failed", "The phone filter is not a phone number", {
            errors: [{ path: "phone", code: "invalid_phone", detail: phone.reason }],
          });
        }
        where.push(eq(messages.to, phone.e164));
      }
      if (query.cursor) {
        const c = decodeCursor(query.cursor);
        // Row comparison walks the (user_id, created_at desc, id desc) index from the cursor on.
        where.push(sql`(${messages.createdAt}, ${messages.id}) < (${c.at}::timestamptz, ${c.id}::uuid)`);
      }
      const rows = await deps.db
        .select({ ...messageRowFields, createdAtText })
        .from(messages)
        .leftJoin(senders, senderOfMessage)
        .where(and(...where))
        .orderBy(desc(messages.createdAt), desc(messages.id))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ at: last.createdAtText, id: last.message.id }) : null;
      res.json({ data: page.map(toMessageJson), nextCursor });
    },
  });
}
