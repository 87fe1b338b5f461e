import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { withTransaction } from "../named";
import { gatewayAccounts, senders } from "../schema/fleet";
import { messageAttempts, messages } from "../schema/messages";
import { connectTestDb, insertMessage, insertUser, randomSuffix } from "../test-support";
import { beginAttempts, dropAttempts, finishAttempts, setWaitingReasons } from "./attempts";
import { fetchClaimRows } from "./claim-rows";
import { finishMany } from "./transition";

const { db, close } = connectTestDb(4);
afterAll(close);

async function twoSenders() {
  const [account] = await db.insert(gatewayAccounts).values({ name: `a-${randomSuffix()}`, baseUrl: "http://gw", username: "u" }).returning();
  return db
    .insert(senders)
    .values([1, 2].map((simNumber) => ({ accountId: account!.id, deviceId: "phone", simNumber })))
    .returning();
}

const messageOf = async (id: string) => (await db.select().from(messages).where(eq(messages.id, id)))[0]!;

describe("attempt writes (ADR 0019)", () => {
  it("opens one live attempt per message: a racing second claim gets nothing", async () => {
    const user = await insertUser(db);
    const [s1, s2] = await twoSenders();
    const m = await insertMessage(db, user.id, { status: "sending", waitingReason: "rate_limited" });
    const first = { id: randomUUID(), messageId: m.id, senderId: s1!.id, n: 1, countsCall: false };
    const second = { id: randomUUID(), messageId: m.id, senderId: s2!.id, n: 1, countsCall: false };

    const [a, b] = await Promise.all([
      withTransaction(db, (tx) => beginAttempts(tx, [first])),
      withTransaction(db, (tx) => beginAttempts(tx, [{ ...second, n: 2 }])),
    ]);
    // Exactly one of the two won, whichever came first; the message names the winner's sender.
    expect(a.size + b.size).toBe(1);
    const winner = a.size === 1 ? first : second;
    expect(await messageOf(m.id)).toMatchObject({ senderId: winner.senderId, waitingReason: null, attempts: 0 });
  });

  it("counts a later attempt's call, records the gateway's answer forward only, and takes a throttled one back", async () => {
    const user = await insertUser(db);
    const [s1] = await twoSenders();
    const m = await insertMessage(db, user.id, { status: "sending", attempts: 1 });
    const first = randomUUID();
    await beginAttempts(db, [{ id: first, messageId: m.id, senderId: s1!.id, n: 1, countsCall: false }]);
    await finishAttempts(db, [{ attemptId: first, to: "failed", error: "refused\u0000" }]);
    await finishAttempts(db, [{ attemptId: first, to: "accepted" }]); // not from failed

    const second = randomUUID();
    expect(await beginAttempts(db, [{ id: second, messageId: m.id, senderId: s1!.id, n: 2, countsCall: true }])).toEqual(new Set([second]));
    expect((await messageOf(m.id)).attempts).toBe(2);
    await dropAttempts(db, [second]);

    const rows = await db.select().from(messageAttempts).where(eq(messageAttempts.messageId, m.id));
    expect(rows.map((r) => [r.id, r.status, r.error])).toEqual([[first, "failed", "refused"]]);
  });

  it("reads the live attempt, the attempt count, and the sticky sender only where routing needs it, with the claim", async () => {
    const user = await insertUser(db);
    const [s1, s2] = await twoSenders();
    const to = `+1415555${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`;
    await insertMessage(db, user.id, { to, status: "accepted", senderId: s1!.id, createdAt: new Date(Date.now() - 60_000) });
    await insertMessage(db, user.id, { to, status: "accepted", senderId: s2!.id, createdAt: new Date(Date.now() - 30_000) });
    const m = await insertMessage(db, user.id, { to, status: "sending", attempts: 1, pinnedSenderId: s1!.id });
    const live = randomUUID();
    await db.insert(messageAttempts).values([
      { id: randomUUID(), messageId: m.id, senderId: s1!.id, n: 1, status: "failed" },
      { id: live, messageId: m.id, senderId: s2!.id, n: 2, status: "sending" },
    ]);

    // Unpinned and with no live attempt: routing picks its sender, sticky first.
    const fresh = await insertMessage(db, user.id, { to });

    const rows = await fetchClaimRows(db, [m.id, fresh.id]);
    const row = rows.get(m.id)!;
    // A live attempt is resent as it is, and a pin routes alone: the sticky sender is not read.
    expect(row).toMatchObject({ attemptRows: 2, pinnedSenderId: s1!.id, stickySenderId: null, attempt: 2, attemptsCounted: 1 });
    expect(row.live).toEqual({ id: live, senderId: s2!.id, n: 2, status: "sending", deviceId: "phone", simNumber: 2, accountId: s2!.accountId });
    expect(rows.get(fresh.id)).toMatchObject({ attemptRows: 0, live: null, pinnedSenderId: null, stickySenderId: s2!.id });
  });

  it("records the gateway's answers and moves their messages in one statement, attempts forward only", async () => {
    const user = await insertUser(db);
    const [s1] = await twoSenders();
    const ok = await insertMessage(db, user.id, { status: "sending", attempts: 1 });
    const refused = await insertMessage(db, user.id, { status: "sending", attempts: 1 });
    const [a, b] = [randomUUID(), randomUUID()];
    await beginAttempts(db, [
      { id: a, messageId: ok.id, senderId: s1!.id, n: 1, countsCall: false },
      { id: b, messageId: refused.id, senderId: s1!.id, n: 1, countsCall: false },
    ]);
    // A report got to b first: the sender's later answer must not move it back.
    await db.update(messageAttempts).set({ status: "sent" }).where(eq(messageAttempts.id, b));

    const events = await finishMany(
      db,
      [
        { attemptId: a, to: "accepted" },
        { attemptId: b, to: "failed", error: "no\u0000pe" },
      ],
      [{ messageId: ok.id, to: "accepted" }],
    );
    expect(events.map((e) => [e.messageId, e.status])).toEqual([[ok.id, "accepted"]]);
    expect((await messageOf(ok.id)).status).toBe("accepted");
    const attempts = await db.select().from(messageAttempts).where(eq(messageAttempts.senderId, s1!.id));
    expect(Object.fromEntries(attempts.map((r) => [r.id, [r.status, r.error]]))).toEqual({ [a]: ["accepted", null], [b]: ["sent", null] });
  });

  it("writes a waiting reason only when it changes, and only on a message still to be sent", async () => {
    const user = await insertUser(db);
    const waiting = await insertMessage(db, user.id);
    const done = await insertMessage(db, user.id, { status: "delivered" });
    await setWaitingReasons(db, [
      { messageId: waiting.id, reason: "paused" },
      { messageId: done.id, reason: "paused" },
    ]);
    const before = await messageOf(waiting.id);
    expect(before.waitingReason).toBe("paused");
    expect((await messageOf(done.id)).waitingReason).toBeNull();
    await setWaitingReasons(db, [{ messageId: waiting.id, reason: "daily_cap" }]);
    expect((await messageOf(waiting.id)).waitingReason).toBe("daily_cap");
  });
});
