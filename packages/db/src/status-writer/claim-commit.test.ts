import { randomUUID } from "node:crypto";
import { asc, eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { withTransaction } from "../named";
import { gatewayAccounts, senders } from "../schema/fleet";
import { messageAttempts, messages } from "../schema/messages";
import { connectTestDb, insertMessage, insertUser, randomSuffix } from "../test-support";
import { beginAttempts, setWaitingReasons } from "./attempts";
import { commitClaimMany, transitionMany, type ClaimAttempt, type TransitionInput } from "./transition";

const { db, close } = connectTestDb(4);
afterAll(close);

type Waits = { messageId: string; reason: "rate_limited" | "paused" }[];

/** The claim commit as the sender made it before commitClaimMany: three writes in one transaction. */
const inTransaction = (inputs: TransitionInput[], attempts: ClaimAttempt[], waits: Waits) =>
  withTransaction(db, async (tx) => {
    const events = await transitionMany(tx, inputs);
    const claimedNow = new Set(events.filter((e) => e.status === "sending").map((e) => e.messageId));
    const opened = await beginAttempts(
      tx,
      attempts.filter((a) => !a.afterMove || claimedNow.has(a.messageId)),
    );
    await setWaitingReasons(tx, waits);
    return { events, opened };
  });

/**
 * One claim batch of every kind the sender commits, on fresh rows: a claim that moves (with
 * its sender), one a racing writer beat (the message was cancelled), a later attempt on a
 * `sending` message (counted, no move), an expiry, two waits (one already recorded).
 */
async function world() {
  const user = await insertUser(db);
  const [account] = await db.insert(gatewayAccounts).values({ name: `a-${randomSuffix()}`, baseUrl: "http://gw", username: "u" }).returning();
  const [s1, s2] = await db
    .insert(senders)
    .values([1, 2].map((simNumber) => ({ accountId: account!.id, deviceId: "phone", simNumber })))
    .returning();
  const claim = await insertMessage(db, user.id, { waitingReason: "rate_limited" });
  const beaten = await insertMessage(db, user.id, { status: "cancelled" });
  const again = await insertMessage(db, user.id, { status: "sending", attempts: 1, senderId: s1!.id });
  await db.insert(messageAttempts).values({ id: randomUUID(), messageId: again.id, senderId: s1!.id, n: 1, status: "failed" });
  const lapsed = await insertMessage(db, user.id, { validUntil: new Date(Date.now() - 60_000) });
  const waiting = await insertMessage(db, user.id);
  const waited = await insertMessage(db, user.id, { waitingReason: "paused" });
  const ids = { claim: claim.id, beaten: beaten.id, again: again.id, lapsed: lapsed.id, waiting: waiting.id, waited: waited.id };
  const attempt = (messageId: string, senderId: string, n: number, countsCall: boolean, afterMove: boolean): ClaimAttempt => ({
    id: randomUUID(),
    messageId,
    senderId,
    n,
    countsCall,
    afterMove,
  });
  const attempts = [
    attempt(claim.id, s1!.id, 1, false, true),
    attempt(beaten.id, s1!.id, 1, false, true),
    attempt(again.id, s2!.id, 2, true, false),
  ];
  const inputs: TransitionInput[] = [
    { messageId: claim.id, to: "sending", senderId: s1!.id },
    { messageId: beaten.id, to: "sending", senderId: s1!.id },
    { messageId: lapsed.id, to: "expired", error: "too late", from: ["queued"] },
  ];
  const waits: Waits = [
    { messageId: waiting.id, reason: "rate_limited" },
    { messageId: waited.id, reason: "paused" },
  ];
  const names = new Map<string, string>([...Object.entries(ids).map(([k, v]): [string, string] => [v, k]), [s1!.id, "s1"], [s2!.id, "s2"]]);
  names.set(attempts[0]!.id, "claim's attempt").set(attempts[1]!.id, "beaten's attempt").set(attempts[2]!.id, "again's attempt");
  return { ids, attempts, inputs, waits, name: (id: string | null) => (id === null ? null : (names.get(id) ?? id)) };
}

/** What a commit left, in names that do not depend on the world's ids. */
async function outcome(w: Awaited<ReturnType<typeof world>>, result: Awaited<ReturnType<typeof inTransaction>>) {
  const ids = Object.values(w.ids);
  const rows = await db.select().from(messages).where(inArray(messages.id, ids));
  const attempts = await db.select().from(messageAttempts).where(inArray(messageAttempts.messageId, ids)).orderBy(asc(messageAttempts.n));
  return {
    events: result.events.map((e) => [w.name(e.messageId), e.status, w.name(e.senderId), e.error]).sort(),
    opened: [...result.opened].map(w.name).sort(),
    messages: rows
      .map((m) => [w.name(m.id), m.status, w.name(m.senderId), m.waitingReason, m.attempts, m.error, m.sendingAt !== null, m.expiredAt !== null])
      .sort(),
    attempts: attempts.map((a) => [w.name(a.messageId), a.n, a.status, w.name(a.senderId)]).sort(),
  };
}

describe("commitClaimMany (the claim commit in one statement)", () => {
  it("writes what the transaction of moves, attempts and waiting reasons wrote, and returns the same", async () => {
    const one = await world();
    const many = await world();
    const expected = await outcome(one, await inTransaction(one.inputs, one.attempts, one.waits));
    const once = await commitClaimMany(db, many.inputs, many.attempts, many.waits);
    expect(once).toBeDefined();
    expect(await outcome(many, once!)).toEqual(expected);
    // What both did: the beaten claim opened nothing, the waiting reasons and senders are set.
    expect(expected.opened).toEqual(["again's attempt", "claim's attempt"]);
    expect(expected.messages).toContainEqual(["claim", "sending", "s1", null, 1, null, true, false]);
    expect(expected.messages).toContainEqual(["again", "sending", "s2", null, 2, null, false, false]);
    expect(expected.messages).toContainEqual(["waiting", "queued", null, "rate_limited", 0, null, false, false]);
    expect(expected.messages).toContainEqual(["lapsed", "expired", null, null, 0, "too late", false, true]);
    expect(expected.attempts).toEqual([
      ["again", 1, "failed", "s1"],
      ["again", 2, "sending", "s2"],
      ["claim", 1, "sending", "s1"],
    ]);
  });

  it("writes nothing and leaves it to the transaction when a row would be written twice", async () => {
    const w = await world();
    const twice = [...w.inputs, { messageId: w.ids.claim, to: "expired" as const }];
    expect(await commitClaimMany(db, twice, w.attempts, w.waits)).toBeUndefined();
    expect(await commitClaimMany(db, w.inputs, w.attempts, [...w.waits, { messageId: w.ids.again, reason: "paused" }])).toBeUndefined();
    const againMoved = [...w.inputs, { messageId: w.ids.again, to: "accepted" as const }];
    expect(await commitClaimMany(db, againMoved, w.attempts, w.waits)).toBeUndefined();
    const [claim] = await db.select().from(messages).where(eq(messages.id, w.ids.claim));
    expect(claim).toMatchObject({ status: "queued", senderId: null });
    expect(await db.select().from(messageAttempts).where(eq(messageAttempts.messageId, w.ids.claim))).toEqual([]);
  });

  it("returns the attempts opened when nothing moves", async () => {
    const w = await world();
    const result = await commitClaimMany(db, [], [w.attempts[2]!], []);
    expect([...result!.opened]).toEqual([w.attempts[2]!.id]);
    expect(result!.events).toEqual([]);
  });
});
