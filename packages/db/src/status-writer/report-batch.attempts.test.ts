import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayAccounts, senders } from "../schema/fleet";
import { messageAttempts, messageEvents, messages, type Message, type NewMessageAttempt } from "../schema/messages";
import { inboundMessages } from "../schema/webhooks";
import { connectTestDb, insertMessage, insertUser } from "../test-support";
import { applyReportBatch, type GatewayEnvelope, type GatewayReport } from "./report-batch";

// The report batch on attempt ids (ADR 0019): a report names an attempt, moves its message only
// while that attempt is live (its latest), and a failure before transmission with attempts
// left fails the attempt and asks for a new one instead of failing the message.

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

describe("report batch: attempts", () => {
  it("a report on the latest attempt's id moves the attempt and its message", async () => {
    const { message, attempts } = await withAttempts(["failed", "accepted"]);
    const sent = envelope({ kind: "sent", messageId: attempts[1]!.id, at: PHONE_TIME, partsCount: 1 });
    const result = await applyReportBatch(db, [sent]);
    expect(result.applied).toEqual(new Set([sent.envelopeId]));
    expect(result.reattempts).toEqual([]);
    expect(await messageOf(message.id)).toMatchObject({ status: "sent", sentAt: PHONE_TIME, partsExpected: 1 });
    const [one, two] = await attemptsOf(message.id);
    expect(one).toMatchObject({ status: "failed", sentAt: null });
    expect(two).toMatchObject({ status: "sent", sentAt: PHONE_TIME });
    expect((await eventsOf(message.id)).map((e) => e.status)).toEqual(["sent"]);

    await applyReportBatch(db, [envelope({ kind: "delivered", messageId: attempts[1]!.id, at: PHONE_TIME })]);
    expect((await messageOf(message.id)).status).toBe("delivered");
    expect((await attemptsOf(message.id))[1]).toMatchObject({ status: "delivered", deliveredAt: PHONE_TIME });
  });

  it("a late report on an earlier attempt updates that attempt only", async () => {
    const { message, attempts } = await withAttempts(["cancelled", "accepted"]);
    const late = envelope({ kind: "sent", messageId: attempts[0]!.id, at: PHONE_TIME });
    const result = await applyReportBatch(db, [late]);
    expect(result.applied).toEqual(new Set([late.envelopeId]));
    // The evidence that the cancelled attempt left the phone is kept; its status stays final.
    const [one, two] = await attemptsOf(message.id);
    expect(one).toMatchObject({ status: "cancelled", sentAt: PHONE_TIME });
    expect(two).toMatchObject({ status: "accepted", sentAt: null });
    expect(await messageOf(message.id)).toMatchObject({ status: "accepted", sentAt: null });
    expect(await eventsOf(message.id)).toEqual([]);
  });

  it("a failure before transmission with attempts left fails the attempt, not the message, and asks for attempt n + 1", async () => {
    const { message, attempts } = await withAttempts(["failed", "accepted"]);
    const failed = envelope({ kind: "failed", messageId: attempts[1]!.id, at: PHONE_TIME, reason: "RESULT_ERROR_LIMIT_EXCEEDED" });
    const result = await applyReportBatch(db, [failed]);
    expect(result.reattempts).toEqual([{ messageId: message.id, attempt: 3, priority: 5 }]);
    expect(result.applied).toEqual(new Set([failed.envelopeId]));
    expect(result.events).toEqual([]);
    expect(await messageOf(message.id)).toMatchObject({ status: "accepted", error: null, failedAt: null });
    expect((await attemptsOf(message.id))[1]).toMatchObject({ status: "failed", error: "RESULT_ERROR_LIMIT_EXCEEDED", failedAt: PHONE_TIME });
    expect(await eventsOf(message.id)).toEqual([]);
  });

  it("fails the message when no attempt is left", async () => {
    const { message, attempts } = await withAttempts(["failed", "failed", "sending"], { status: "sending" });
    const result = await applyReportBatch(db, [envelope({ kind: "failed", messageId: attempts[2]!.id, at: PHONE_TIME, reason: "RESULT_ERROR_NO_SERVICE" })]);
    expect(result.reattempts).toEqual([]);
    expect(await messageOf(message.id)).toMatchObject({ status: "failed", error: "RESULT_ERROR_NO_SERVICE", failedAt: PHONE_TIME });
    expect((await attemptsOf(message.id))[2]).toMatchObject({ status: "failed", error: "RESULT_ERROR_NO_SERVICE" });
    expect((await eventsOf(message.id)).map((e) => e.status)).toEqual(["failed"]);
  });

  it("honours SEND_MAX_ATTEMPTS", async () => {
    const { message, attempts } = await withAttempts(["accepted"]);
    const report = envelope({ kind: "failed", messageId: attempts[0]!.id, reason: "RESULT_ERROR_RADIO_OFF" });
    expect((await applyReportBatch(db, [report], { maxAttempts: 1 })).reattempts).toEqual([]);
    expect((await messageOf(message.id)).status).toBe("failed");
  });

  it("a failure that may follow a transmission is final, as is one after the attempt was reported sent", async () => {
    const generic = await withAttempts(["accepted"]);
    await applyReportBatch(db, [envelope({ kind: "failed", messageId: generic.attempts[0]!.id, reason: "RESULT_ERROR_GENERIC_FAILURE" })]);
    expect((await messageOf(generic.message.id)).status).toBe("failed");

    const sent = await withAttempts(["accepted"]);
    const id = sent.attempts[0]!.id;
    const result = await applyReportBatch(db, [
      envelope({ kind: "sent", messageId: id }),
      envelope({ kind: "failed", messageId: id, reason: "RESULT_ERROR_LIMIT_EXCEEDED" }),
    ]);
    expect(result.reattempts).toEqual([]);
    expect((await messageOf(sent.message.id)).status).toBe("failed");
    expect((await attemptsOf(sent.message.id))[0]).toMatchObject({ status: "failed" });
  });

  it("a part-1 attempt, whose id is its message id, still resolves", async () => {
    const message = await insertMessage(db, userId, { status: "accepted", acceptedAt: new Date() });
    await db.insert(messageAttempts).values({ id: message.id, messageId: message.id, n: 1, status: "accepted" });
    await applyReportBatch(db, [envelope({ kind: "delivered", messageId: message.id, at: PHONE_TIME })]);
    expect(await messageOf(message.id)).toMatchObject({ status: "delivered", deliveredAt: PHONE_TIME });
    expect((await attemptsOf(message.id))[0]).toMatchObject({ status: "delivered", deliveredAt: PHONE_TIME });
  });

  it("a message without attempt rows is reported on by its own id, as before attempts (no re-attempt)", async () => {
    const message = await insertMessage(db, userId, { status: "accepted", acceptedAt: new Date() });
    const result = await applyReportBatch(db, [envelope({ kind: "failed", messageId: message.id, reason: "RESULT_ERROR_NO_SERVICE" })]);
    expect(result.reattempts).toEqual([]);
    expect((await messageOf(message.id)).status).toBe("failed");
  });

  it("a message id whose message has attempts under other ids names nothing", async () => {
    const { message } = await withAttempts(["accepted"]);
    const report = envelope({ kind: "sent", messageId: message.id });
    const result = await applyReportBatch(db, [report]);
    expect(result.inserted).toEqual(new Set([report.envelopeId]));
    expect(result.applied).toEqual(new Set());
    expect((await messageOf(message.id)).status).toBe("accepted");
  });

  it("counts a multipart attempt's delivered parts on its message", async () => {
    const { message, attempts } = await withAttempts(["accepted"], { segments: 2 });
    const id = attempts[0]!.id;
    await applyReportBatch(db, [envelope({ kind: "sent", messageId: id, partsCount: 2 }), envelope({ kind: "delivered", messageId: id })]);
    expect(await messageOf(message.id)).toMatchObject({ status: "sent", partsDelivered: 1 });
    expect((await attemptsOf(message.id))[0]).toMatchObject({ status: "sent", deliveredAt: null });
    await applyReportBatch(db, [envelope({ kind: "delivered", messageId: id, at: PHONE_TIME })]);
    expect(await messageOf(message.id)).toMatchObject({ status: "delivered", partsDelivered: 2 });
    expect((await attemptsOf(message.id))[0]).toMatchObject({ status: "delivered", deliveredAt: PHONE_TIME });
  });

  it("a report through an account's own URL acts only on that account's attempts", async () => {
    const [mine, theirs] = await db
      .insert(gatewayAccounts)
      .values([1, 2].map((i) => ({ name: `scope-${i}-${randomUUID()}`, baseUrl: "http://x", username: "u" })))
      .returning();
    const [sender] = await db.insert(senders).values({ accountId: mine!.id, deviceId: `d-${randomUUID()}` }).returning();
    const { message, attempts } = await withAttempts(["accepted"]);
    await db.update(messageAttempts).set({ senderId: sender!.id }).where(eq(messageAttempts.id, attempts[0]!.id));

    const wrong = { ...envelope({ kind: "sent", messageId: attempts[0]!.id }), accountId: theirs!.id };
    expect((await applyReportBatch(db, [wrong])).applied).toEqual(new Set());
    expect((await messageOf(message.id)).status).toBe("accepted");

    const right = { ...envelope({ kind: "sent", messageId: attempts[0]!.id }), accountId: mine!.id };
    expect((await applyReportBatch(db, [right])).applied).toEqual(new Set([right.envelopeId]));
    expect((await messageOf(message.id)).status).toBe("sent");

    // A part-1 message (no attempt rows) is the default account's alone.
    const old = await insertMessage(db, userId, { status: "accepted" });
    await applyReportBatch(db, [{ ...envelope({ kind: "sent", messageId: old.id }), accountId: mine!.id }]);
    expect((await messageOf(old.id)).status).toBe("accepted");
  });
});

describe("report batch: received SMS through an account's own URL", () => {
  const number = () => `+4479${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;

  async function account(ownerUserId: string | null) {
    const [row] = await db
      .insert(gatewayAccounts)
      .values({ ownerUserId, name: `inbound-${randomUUID()}`, baseUrl: "http://x", username: "u" })
      .returning();
    const [sender] = await db.insert(senders).values({ accountId: row!.id, deviceId: `d-${randomUUID()}` }).returning();
    return { id: row!.id, senderId: sender!.id };
  }

  /** `user`'s accepted message to `to`, handed over by `senderId` (none: no attempt). */
  async function texted(user: string, to: string, senderId: string | null, createdAt: Date) {
    const message = await insertMessage(db, user, { to, status: "accepted", acceptedAt: createdAt, createdAt });
    if (senderId) await db.insert(messageAttempts).values({ messageId: message.id, n: 1, status: "accepted", senderId, acceptedAt: createdAt });
  }

  async function receive(from: string, accountId: string | null) {
    const e: GatewayEnvelope = {
      envelopeId: randomUUID(),
      event: "sms:received",
      deviceId: "d",
      messageId: null,
      json: "{}",
      act: { kind: "received", fromNumber: from, text: "hi", receivedAt: PHONE_TIME },
      accountId,
    };
    await applyReportBatch(db, [e]);
    const [row] = await db.select().from(inboundMessages).where(eq(inboundMessages.envelopeId, e.envelopeId));
    return row!.userId;
  }

  it("a private account's SMS is its owner's, whoever last texted that number", async () => {
    const [owner, other] = [(await insertUser(db)).id, (await insertUser(db)).id];
    const mine = await account(owner);
    const elsewhere = await account(null);
    const to = number();
    await texted(other, to, elsewhere.senderId, new Date());
    // The legacy URL keeps the global rule; the owner's URL cannot reach the other user's inbox.
    expect(await receive(to, null)).toBe(other);
    expect(await receive(to, mine.id)).toBe(owner);
    // Never texted by anyone: still the owner's, never the admins' (it is their private phone).
    expect(await receive(number(), mine.id)).toBe(owner);
  });

  it("a shared account's SMS goes to whoever last texted that number through its senders", async () => {
    const [viaShared, viaOther] = [(await insertUser(db)).id, (await insertUser(db)).id];
    const shared = await account(null);
    const other = await account(null);
    const to = number();
    const base = Date.now();
    await texted(viaShared, to, shared.senderId, new Date(base - 2_000));
    // Newer, but through another account's phone, or through none: not a reply on this one.
    await texted(viaOther, to, other.senderId, new Date(base - 1_000));
    await texted(viaOther, to, null, new Date(base));
    expect(await receive(to, shared.id)).toBe(viaShared);
    expect(await receive(to, null)).toBe(viaOther);

    const onlyElsewhere = number();
    await texted(viaOther, onlyElsewhere, other.senderId, new Date(base));
    expect(await receive(onlyElsewhere, shared.id)).toBeNull();
  });
});
