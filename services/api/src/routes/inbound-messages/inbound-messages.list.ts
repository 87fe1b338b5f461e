import { and, desc, eq, gte, isNull, lt, sql, type SQL } from "drizzle-orm";
import { unionAll } from "drizzle-orm/pg-core";
import { inboundMessages } from "@inboxerr/db";
import { toInboundJson } from "@inboxerr/webhooks";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { decodeCursor, encodeCursor } from "../../messages/cursor";
import { InboundMessageListResponse, ListInboundMessagesQuery } from "../../schemas/inbound";

// Exact to the microsecond and in UTC whatever the session time zone: the cursor's key.
const receivedAtText = sql<string>`to_char(${inboundMessages.receivedAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
  "received_at_text",
);
const newestFirst = [desc(inboundMessages.receivedAt), desc(inboundMessages.id)];

export function listInboundMessagesRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/inbound-messages",
    operationId: "listInboundMessages",
    summary: "List SMS received from your recipients, newest first",
    description:
      "A reply is attributed at ingest to the user whose latest message to that number reached `accepted` or later; " +
      "with none, to the admins. Users see theirs; admins see theirs and the unattributed ones. " +
      "Ordered by `receivedAt`, newest first; keyset pagination: pass `nextCursor` back as `cursor` until it is null.",
    tags: ["inbound"],
    auth: true,
    query: ListInboundMessagesQuery,
    responses: { 200: { description: "One page of inbound messages", schema: InboundMessageListResponse } },
    problems: [400, 401],
    async handler({ query, principal, res }) {
      const filters: SQL[] = [];
      if (query.from !== undefined) {
        // Stored normalised with the same region at ingest, or raw when it did not parse.
        const phone = deps.phones.normalize(query.from);
        filters.push(eq(inboundMessages.fromNumber, phone.ok ? phone.e164 : query.from.trim()));
      }
      if (query.receivedAfter) filters.push(gte(inboundMessages.receivedAt, new Date(query.receivedAfter)));
      if (query.receivedBefore) filters.push(lt(inboundMessages.receivedAt, new Date(query.receivedBefore)));
      if (query.cursor) {
        const c = decodeCursor(query.cursor);
        filters.push(sql`(${inboundMessages.receivedAt}, ${inboundMessages.id}) < (${c.at}::timestamptz, ${c.id}::uuid)`);
      }
      // One index range scan per owner on (user_id, received_at desc), each stopping at limit + 1.
      const page = (owner: SQL) =>
        deps.db
          .select({ row: inboundMessages, receivedAtText })
          .from(inboundMessages)
          .where(and(owner, ...filters))
          .orderBy(...newestFirst)
          .limit(query.limit + 1);
      const mine = page(eq(inboundMessages.userId, principal.userId));
      // Admins also own the unattributed replies. A UNION ALL of two bounded scans, rather than
      // `user_id = $1 OR user_id IS NULL`, which would read and sort every match before the limit.
      const rows = await (principal.role === "admin"
        ? unionAll(mine, page(isNull(inboundMessages.userId)))
            .orderBy(...newestFirst)
            .limit(query.limit + 1)
        : mine);

      const data = rows.slice(0, query.limit);
      const last = data.at(-1);
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ at: last.receivedAtText, id: last.row.id }) : null;
      res.json({ data: data.map((r) => toInboundJson(r.row)), nextCursor });
    },
  });
}
