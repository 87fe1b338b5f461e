import { randomUUID } from "node:crypto";
import type { SendToEnqueue } from "@inboxerr/contracts";
import { eq } from "drizzle-orm";
import type { z } from "zod";
import { batches } from "@inboxerr/db";
import { AppError, type FieldError } from "@inboxerr/http";
import type { Principal } from "../../auth/principal";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { IdempotencyHeaders } from "../../schemas/common";
import { BulkSendRequest, BulkSendResponse, parseBulkSendRequest } from "../../schemas/messages";
import { enqueueCommitted } from "../../send/enqueue";
import { requestHash, runIdempotent, type StoredResponse } from "../../send/idempotency";
import { BULK_CONCURRENCY, MAX_BULK_RECIPIENTS } from "../../send/limits";
import { Semaphore } from "../../send/semaphore";
import { prepareRecipients, type Rejection } from "../../send/prepare";
import { parseFrom, resolvePinnedSender } from "../../send/sender-pin";
import { initialStatus, insertMessages } from "../../send/store";
import { sendIdempotently } from "./send-response";

export function bulkMessagesRoute(deps: ApiDeps) {
  const bulks = new Semaphore(BULK_CONCURRENCY);
  return defineRoute({
    method: "post",
    path: "/messages/bulk",
    operationId: "sendBulk",
    summary: `Send to up to ${MAX_BULK_RECIPIENTS.toLocaleString("en")} recipients`,
    description:
      "Each recipient's own `text` wins over the shared `text` template; `{{name}}` placeholders are filled from its " +
      "`variables`. Bad recipients are rejected one by one (index, code, detail) and the rest are sent as one batch; " +
      "if none is valid the answer is 422 with the rejections in `errors`. `from` pins every message of the request to " +
      "one of your senders; one you may not use answers 422 and stores nothing.",
    tags: ["messages"],
    auth: true,
    headers: IdempotencyHeaders,
    body: BulkSendRequest,
    parseBody: parseBulkSendRequest,
    responses: { 202: { description: "Accepted: the valid recipients are stored and queued", schema: BulkSendResponse } },
    problems: [400, 401, 409, 422],
    async handler({ req, res, body, headers, principal }) {
      // Excess bulks wait here rather than all holding their recipients in memory together.
      const result = await bulks.run(() => sendBulk(deps, req.body, body, headers["idempotency-key"], principal));
      sendIdempotently(res, result);
    },
  });
}

async function sendBulk(
  deps: ApiDeps,
  rawBody: unknown,
  body: z.output<typeof BulkSendRequest>,
  idempotencyKey: string | undefined,
  principal: Principal,
): Promise<StoredResponse & { replayed: boolean }> {
  const { userId } = principal;
  const started = performance.now();
  // Before the recipients' work: a bad `from` fails the whole request at once.
  const from = body.from === undefined ? null : parseFrom(body.from, deps.phones);
  const prepared = await prepareRecipients(body.messages, body.text, deps.phones);
  const { rejections } = prepared;
  const preparedAt = performance.now();
  const countRejected = () => rejections.forEach((r) => deps.metrics.rejected.inc({ code: r.code }));
  if (prepared.candidates.length === 0) {
    countRejected();
    throw noneValid(rejections);
  }
  const now = new Date();
  const window = {
    scheduledAt: body.scheduledAt ? new Date(body.scheduledAt) : null,
    validUntil: body.validUntil ? new Date(body.validUntil) : null,
    priority: body.priority,
  };
  let accepted: { index: number; id: string }[] = [];
  const result = await runIdempotent(
    deps.db,
    // Hashing means serialising the whole body again: only worth it when there is a key.
    { userId, key: idempotencyKey, requestHash: idempotencyKey === undefined ? "" : requestHash("POST", "/messages/bulk", rawBody) },
    async (tx) => {
      const { candidates } = prepared;
      const pinnedSenderId = from && (await resolvePinnedSender(tx, principal, from));
      const batchId = randomUUID();
      await tx.insert(batches).values({ id: batchId, userId, total: candidates.length });
      const { ids, duplicates } = await insertMessages(tx, { ...window, userId, batchId, pinnedSenderId, candidates, now });
      for (const index of duplicates) {
        const to = body.messages[index]!.to;
        rejections.push({ index, to, code: "duplicate_custom_id", detail: "customId already used by another of your messages" });
      }
      // Throwing rolls back the batch row too: an all-duplicate bulk leaves no trace.
      if (ids.size === 0) {
        countRejected();
        throw noneValid(rejections);
      }
      if (duplicates.length > 0) await tx.update(batches).set({ total: ids.size }).where(eq(batches.id, batchId));
      accepted = new Array<{ index: number; id: string }>(ids.size);
      let i = 0;
      for (const [index, id] of ids) accepted[i++] = { index, id };
      rejections.sort((a, b) => a.index - b.index);
      return { status: 202, body: { batchId, accepted: ids.size, rejected: rejections, messages: accepted } };
    },
  );
  // The candidates (texts included) are in Postgres now: let them go before the enqueue.
  prepared.candidates = [];
  if (!result.replayed) {
    const stored = performance.now();
    deps.metrics.accepted.inc({ endpoint: "bulk" }, accepted.length);
    countRejected();
    const sendAt = initialStatus(window.scheduledAt, now) === "scheduled" ? window.scheduledAt : null;
    const sends = new Array<SendToEnqueue>(accepted.length);
    for (let i = 0; i < accepted.length; i++) sends[i] = { id: accepted[i]!.id, priority: window.priority, sendAt };
    await enqueueCommitted(deps, sends);
    const ms = (a: number, b: number) => Math.round(b - a);
    deps.logger.debug(
      { accepted: accepted.length, rejected: rejections.length, prepareMs: ms(started, preparedAt), storeMs: ms(preparedAt, stored), enqueueMs: ms(stored, performance.now()) },
      "bulk accepted",
    );
  }
  return result;
}

function noneValid(rejections: Rejection[]): AppError {
  const errors: FieldError[] = rejections
    .sort((a, b) => a.index - b.index)
    .map((r) => ({ path: `messages.${r.index}.${r.code === "invalid_phone" ? "to" : r.code === "duplicate_custom_id" ? "customId" : "text"}`, ...r }));
  return new AppError("unprocessable", "No recipient can be sent to; see errors", { errors });
}
