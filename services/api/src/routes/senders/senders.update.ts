import { eq, sql } from "drizzle-orm";
import { senderEvents, senderUsage, senders } from "@inboxerr/db";
import { AppError, notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { canManage, visibleSenders } from "../../fleet/access";
import { toSenderJson } from "../../fleet/serialize";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { SenderSchema, UpdateSenderRequest } from "../../schemas/fleet";

export function updateSenderRoute(deps: ApiDeps) {
  return defineRoute({
    method: "patch",
    path: "/senders/{id}",
    operationId: "updateSender",
    summary: "Set a sender's label, limits or status (pause/resume)",
    description:
      "The owner of its account, or an admin for a shared one. `status: paused` stops new attempts until someone " +
      "sets `active` again (sync never resumes it); `pausedReason` says why. Resuming clears the reason. " +
      "A change of status restarts the count of automatic pause (only attempts made since count); a pause writes a " +
      "`sender.paused` event (GET /senders/{id}/events).",
    tags: ["fleet"],
    auth: true,
    params: IdParams,
    body: UpdateSenderRequest,
    responses: { 200: { description: "The sender", schema: SenderSchema } },
    problems: [400, 401, 403, 404, 409],
    async handler({ params, body, principal, res }) {
      const id = resourceId(params.id, "Sender");
      const [current] = await visibleSenders(deps, principal, eq(senders.id, id));
      if (!current) throw notFound("Sender");
      if (!canManage(principal, current)) throw new AppError("forbidden", "Only an admin may change a shared sender");
      const { pausedReason, ...rest } = body;
      const shared = current.ownerUserId === null;
      const sender = await deps.db.transaction(async (tx) => {
        // Locked: the health pass and sync change status too, and whether this request changes
        // it decides status_changed_at and the event.
        const [locked] = await tx.select({ status: senders.status }).from(senders).where(eq(senders.id, id)).for("update");
        if (!locked) throw notFound("Sender");
        if (body.status && locked.status === "retired") {
          throw new AppError("conflict", "The sender is retired (see its pausedReason); it cannot be paused or resumed");
        }
        const statusChanges = body.status !== undefined && body.status !== locked.status;
        const [row] = await tx
          .update(senders)
          .set({
            ...rest,
            // A reason belongs to a pause: resuming clears it, and one given alone updates it.
            ...(body.status === "active" ? { pausedReason: null } : pausedReason !== undefined ? { pausedReason } : {}),
            // Automatic pause counts attempts made since (ADR 0022): a resume forgets the failures before.
            ...(statusChanges ? { statusChangedAt: sql`now()` } : {}),
            updatedAt: new Date(),
          })
          .where(eq(senders.id, id))
          .returning();
        const usage = await senderUsage(tx, [id]);
        const json = toSenderJson(row!, shared, usage.get(id));
        if (statusChanges && body.status === "paused") {
          await tx.insert(senderEvents).values({ senderId: id, ownerUserId: current.ownerUserId, type: "sender.paused", payload: json });
        }
        return json;
      });
      res.json(sender);
    },
  });
}
