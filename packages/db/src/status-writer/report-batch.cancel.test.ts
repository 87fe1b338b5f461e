import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageAttempts, messageEvents, messages, type Message, type NewMessageAttempt } from "../schema/messages";
import { connectTestDb, insertMessage, insertUser } from "../test-support";
import { applyReportBatch, cancelledReport, type GatewayEnvelope, type GatewayReport } from "./report-batch";

// A confirmed cancel (ADR 0022): the attempt provably never left the phone, so it ends
// `cancelled` and an unfinished message gets a new attempt, outside SEND_MAX_ATTEMPTS. Beside
// report-batch.attempts.test.ts, which covers the other reports on attempts.

const { db, close } = connectTestDb();
afterAll(close);

let userId: string;
beforeAll(async () => {
  userId = (await insertUser(db)).id;
});

const PHONE_TIME = new Date("2030-01-02T03:04:05.000Z");

function envelope(act: GatewayReport): GatewayEnvelope {
  return { envelopeId: randomUUID(), event: `sms:${act.kind}`, deviceId: "d", messageId: act.messageId, json: "{}", act };
}

/** A message with attempts 1..n in the given statuses (the last one its current). */
async function withAttempts(statuses: NewMessageAttempt["status"][], over: Partial<Message> = {}) {
  const message = await insertMessage(db, userId, { status: "accepted", acceptedAt: new Date(), priority: 5, ...over });
  const rows = await db
    .insert(messageAttempts)
    .values(statuses.map((status, i) => ({ messageId: message.id, n: i + 1, status })))
    .returning();
  return { message, attempts: rows.sort((a, b) => a.n - b.n) };
}

const messageOf = async (id: string) => (await db.select().from(messages).where(eq(messages.id, id)))[0]!;
const attemptsOf = (id: string) => db.select().from(messageAttempts).where(eq(messageAttempts.messageId, id)).orderBy(asc(messageAttempts.n));
const eventsOf = (id: string) => db.select().from(messageEvents).where(eq(messageEvents.messageId, id));

describe("report batch: cancelled", () => {
  it("ends an accepted attempt cancelled, leaves the message, and asks for attempt n + 1 even with no attempts left", async () => {
    const { message, attempts } = await withAttempts(["failed", "failed", "accepted"]);
    const cancel = envelope({ kind: "cancelled", messageId: attempts[2]!.id, at: PHONE_TIME });
    const result = await applyReportBatch(db, [cancel], { maxAttempts: 3 });
    expect(result.reattempts).toEqual([{ messageId: message.id, attempt: 4, priority: 5 }]);
    expect(result.applied).toEqual(new Set([cancel.envelopeId]));
    expect(result.events).toEqual([]);
    expect((await attemptsOf(message.id))[2]).toMatchObject({ status: "cancelled", cancelledAt: PHONE_TIME, error: null, failedAt: null });
    expect(await messageOf(message.id)).toMatchObject({ status: "accepted", failedAt: null, error: null });
    expect(await eventsOf(message.id)).toEqual([]);
  });

  it("ends a sending attempt too, stamped with server time when the report has none", async () => {
    const { message, attempts } = await withAttempts(["sending"], { status: "sending" });
    const before = Date.now();
    const result = await applyReportBatch(db, [envelope({ kind: "cancelled", messageId: attempts[0]!.id })]);
    expect(result.reattempts).toEqual([{ messageId: message.id, attempt: 2, priority: 5 }]);
    const [one] = await attemptsOf(message.id);
    expect(one!.status).toBe("cancelled");
    expect(one!.cancelledAt!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect((await messageOf(message.id)).status).toBe("sending");
  });

  it("changes nothing on an attempt already sent, or already ended", async () => {
    const sent = await withAttempts(["sent"], { status: "sent", sentAt: PHONE_TIME });
    const onSent = envelope({ kind: "cancelled", messageId: sent.attempts[0]!.id });
    const result = await applyReportBatch(db, [onSent]);
    expect(result).toMatchObject({ applied: new Set(), reattempts: [], events: [] });
    expect((await attemptsOf(sent.message.id))[0]).toMatchObject({ status: "sent", cancelledAt: null });
    expect((await messageOf(sent.message.id)).status).toBe("sent");

    const ended = await withAttempts(["failed", "accepted"]);
    expect((await applyReportBatch(db, [envelope({ kind: "cancelled", messageId: ended.attempts[0]!.id })])).reattempts).toEqual([]);
    expect((await attemptsOf(ended.message.id)).map((a) => a.status)).toEqual(["failed", "accepted"]);
  });

  it("after a sent report in the same batch, changes nothing: the attempt left the phone", async () => {
    const { message, attempts } = await withAttempts(["accepted"]);
    const id = attempts[0]!.id;
    const result = await applyReportBatch(db, [envelope({ kind: "sent", messageId: id }), envelope({ kind: "cancelled", messageId: id })]);
    expect(result.reattempts).toEqual([]);
    expect((await attemptsOf(message.id))[0]!.status).toBe("sent");
    expect((await messageOf(message.id)).status).toBe("sent");
  });

  it("on a finished message ends the live unsent attempt, with no new attempt", async () => {
    const { message, attempts } = await withAttempts(["accepted"], { status: "failed", failedAt: PHONE_TIME });
    const result = await applyReportBatch(db, [envelope({ kind: "cancelled", messageId: attempts[0]!.id })]);
    expect(result.reattempts).toEqual([]);
    expect((await attemptsOf(message.id))[0]!.status).toBe("cancelled");
    expect((await messageOf(message.id)).status).toBe("failed");
  });

  it("a late sent report on a cancelled attempt is stamped on it, never moves the message, and is flagged", async () => {
    const { message, attempts } = await withAttempts(["accepted"]);
    const id = attempts[0]!.id;
    await applyReportBatch(db, [envelope({ kind: "cancelled", messageId: id })]);
    const result = await applyReportBatch(db, [envelope({ kind: "sent", messageId: id, at: PHONE_TIME })]);
    expect(result.sentAfterCancel).toEqual([{ attemptId: id, messageId: message.id }]);
    expect(result.events).toEqual([]);
    expect((await attemptsOf(message.id))[0]).toMatchObject({ status: "cancelled", sentAt: PHONE_TIME });
    expect(await messageOf(message.id)).toMatchObject({ status: "accepted", sentAt: null });

    // In one batch behind the cancel: the same.
    const both = await withAttempts(["accepted"]);
    const bothId = both.attempts[0]!.id;
    const r = await applyReportBatch(db, [envelope({ kind: "cancelled", messageId: bothId }), envelope({ kind: "sent", messageId: bothId })]);
    expect(r.reattempts).toEqual([{ messageId: both.message.id, attempt: 2, priority: 5 }]);
    expect(r.sentAfterCancel).toEqual([{ attemptId: bothId, messageId: both.message.id }]);
    expect((await attemptsOf(both.message.id))[0]!.status).toBe("cancelled");
    expect((await messageOf(both.message.id)).status).toBe("accepted");
  });

  it("cancelled attempts do not count towards SEND_MAX_ATTEMPTS for a pre-transmission failure", async () => {
    const { message, attempts } = await withAttempts(["cancelled", "cancelled", "accepted"]);
    const failed = envelope({ kind: "failed", messageId: attempts[2]!.id, reason: "RESULT_ERROR_NO_SERVICE" });
    const result = await applyReportBatch(db, [failed], { maxAttempts: 2 });
    expect(result.reattempts).toEqual([{ messageId: message.id, attempt: 4, priority: 5 }]);
    expect((await messageOf(message.id)).status).toBe("accepted");
  });

  it("failover's cancelledReport applies once, however often the pass repeats it", async () => {
    const { message, attempts } = await withAttempts(["accepted"]);
    const report = cancelledReport(attempts[0]!.id, PHONE_TIME);
    expect(report.envelopeId).toBe(`failover:${attempts[0]!.id}`);
    expect((await applyReportBatch(db, [report])).reattempts).toEqual([{ messageId: message.id, attempt: 2, priority: 5 }]);
    const again = await applyReportBatch(db, [cancelledReport(attempts[0]!.id)]);
    expect(again).toMatchObject({ inserted: new Set(), reattempts: [] });
    expect((await attemptsOf(message.id))[0]).toMatchObject({ status: "cancelled", cancelledAt: PHONE_TIME });
  });

  it("every move of the message clears its waiting reason", async () => {
    const { message, attempts } = await withAttempts(["accepted"], { waitingReason: "failover_unconfirmed" });
    await applyReportBatch(db, [envelope({ kind: "delivered", messageId: attempts[0]!.id, at: PHONE_TIME })], { maxAttempts: 3 });
    // A counter only (one part of two): no move, the reason stays.
    const multi = await withAttempts(["sent"], { status: "sent", segments: 2, waitingReason: "failover_unconfirmed" });
    await applyReportBatch(db, [envelope({ kind: "delivered", messageId: multi.attempts[0]!.id })]);
    expect(await messageOf(message.id)).toMatchObject({ status: "delivered", waitingReason: null });
    expect(await messageOf(multi.message.id)).toMatchObject({ partsDelivered: 1, waitingReason: "failover_unconfirmed" });
  });
});
