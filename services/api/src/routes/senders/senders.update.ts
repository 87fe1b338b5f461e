import { eq } from "drizzle-orm";
import { senderUsage, senders } from "@inboxerr/db";
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
      "sets `active` again (sync never resumes it); `pausedReason` says why. Resuming clears the reason.",
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
      if (body.status && current.sender.status === "retired") {
        throw new AppError("conflict", "The sender is retired (its SIM is gone from the gateway); it cannot be paused or resumed");
      }
      const { pausedReason, ...rest } = body;
      const [row] = await deps.db
        .update(senders)
        .set({
          ...rest,
          // A reason belongs to a pause: resuming clears it, and one given alone updates it.
          ...(body.status === "active" ? { pausedReason: null } : pausedReason !== undefined ? { pausedReason } : {}),
          updatedAt: new Date(),
        })
        .where(eq(senders.id, id))
        .returning();
      const usage = await senderUsage(deps.db, [id]);
      res.json(toSenderJson(row!, current.ownerUserId === null, usage.get(id)));
    },
  });
}
