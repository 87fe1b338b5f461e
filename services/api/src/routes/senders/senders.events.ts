import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { senderEvents, senders, type SenderEvent } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { visibleSenders } from "../../fleet/access";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { decodeCursor, encodeCursor } from "../../messages/cursor";
import { IdParams } from "../../schemas/common";
import { SenderEventListQuery, SenderEventListResponse } from "../../schemas/fleet";

// Exact to the microsecond and in UTC whatever the session time zone: the cursor's key.
const occurredAtText = sql<string>`to_char(${senderEvents.occurredAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
  "occurred_at_text",
);

export function listSenderEventsRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/senders/{id}/events",
    operationId: "listSenderEvents",
    summary: "A sender's status events, newest first",
    description:
      "What the health pass and admins did to the sender (ADR 0022): `sender.offline`, `sender.online`, `sender.paused`, " +
      "each with the sender as it was then. The same senders as GET /senders/{id} (another user's private one is 404). " +
      "Keyset pagination: pass `nextCursor` back as `cursor` until it is null.",
    tags: ["fleet"],
    auth: true,
    params: IdParams,
    query: SenderEventListQuery,
    responses: { 200: { description: "One page of the sender's events", schema: SenderEventListResponse } },
    problems: [400, 401, 404],
    async handler({ params, query, principal, res }) {
      const id = resourceId(params.id, "Sender");
      const [visible] = await visibleSenders(deps, principal, eq(senders.id, id));
      if (!visible) throw notFound("Sender");
      const filters: SQL[] = [eq(senderEvents.senderId, id)];
      if (query.cursor) {
        const c = decodeCursor(query.cursor);
        filters.push(sql`(${senderEvents.occurredAt}, ${senderEvents.id}) < (${c.at}::timestamptz, ${c.id}::uuid)`);
      }
      // One range scan of sender_events_sender_id_occurred_at_idx, stopping at limit + 1.
      const rows = await deps.db
        .select({ row: senderEvents, occurredAtText })
        .from(senderEvents)
        .where(and(...filters))
        .orderBy(desc(senderEvents.occurredAt), desc(senderEvents.id))
        .limit(query.limit + 1);

      const data = rows.slice(0, query.limit);
      const last = data.at(-1);
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ at: last.occurredAtText, id: last.row.id }) : null;
      res.json({ data: data.map((r) => toSenderEventJson(r.row)), nextCursor });
    },
  });
}

function toSenderEventJson(e: SenderEvent) {
  return { id: e.id, senderId: e.senderId, type: e.type, sender: e.payload, occurredAt: e.occurredAt.toISOString() };
}
