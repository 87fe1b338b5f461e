/**
 * Issue #16 "What it must show", on a fleet of 2 shared accounts × 2 phones × 2 SIMs (4 phones,
 * 8 senders) whose phones ping every 500 ms: a phone that goes dark mid-bulk holding accepted
 * messages has them cancelled, confirmed and delivered through the other phones, none on two
 * phones; a dark phone that ignores the cancel resends nothing; a SIM that starts failing with
 * RESULT_ERROR_LIMIT_EXCEEDED is paused by itself and the bulk still completes; a phone that
 * comes back has its senders active again. ADR 0022; the timers are shortened (3 s offline,
 * 3 s failover), every wait is on a condition.
 */
import { and, count, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages, senderEvents, type WaitingReason } from "@inboxerr/db";
import { recipients, startPhoneFleet, type FleetAccount, type PhoneFleet, type SenderJson } from "./harness";

const OFFLINE_AFTER_S = 3;
const FAILOVER_AFTER_S = 3;

let fleet: PhoneFleet;
let shared: SenderJson[];

beforeAll(async () => {
  fleet = await startPhoneFleet({
    accounts: 2,
    pingIntervalMs: 500,
    senderEnv: { SENDER_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_S), FAILOVER_AFTER_SECONDS: String(FAILOVER_AFTER_S) },
  });
  shared = await fleet.senders();
  expect(shared).toHaveLength(8);
}, 120_000);

afterAll(async () => {
  await fleet?.close();
}, 60_000);

/** The simulator's state of a message id (an attempt id) under one account's login. */
async function gatewayState(account: FleetAccount, id: string): Promise<string | null> {
  const auth = `Basic ${Buffer.from(`${account.username}:${account.password}`).toString("base64")}`;
  const res = await fetch(`${fleet.gatewayUrl}/messages/${id}`, { headers: { authorization: auth } });
  if (res.status === 404) return null;
  return ((await res.json()) as { state: string }).state;
}

/** One phone of the fleet: its account and its senders. */
function phone(deviceId: string) {
  const senders = shared.filter((s) => s.deviceId === deviceId);
  const account = fleet.accounts.find((a) => a.id === senders[0]!.accountId)!;
  return { deviceId, account, senderIds: senders.map((s) => s.id) };
}

const statusOf = async (ids: string[]) => new Map((await fleet.senders()).filter((s) => ids.includes(s.id)).map((s) => [s.id, s.status]));

/** Rate-limits every sender so a bulk takes long enough for a phone to go dark in the middle of it. */
async function slowFleet(perMinute: number) {
  await fleet.patchSenders(
    shared.map((s) => s.id),
    { ratePerMinute: perMinute },
  );
  await fleet.caughtUp();
}

describe("failover", () => {
  it("a phone that goes dark mid-bulk: its accepted messages are cancelled, confirmed and delivered by the other phones, none by two; it comes back active", async () => {
    await slowFleet(1_200); // 8 senders × 20/s: 2,000 messages take ~12 s
    const dark = phone(shared[0]!.deviceId);
    const user = await fleet.api.user();
    const ids = await fleet.bulk(user.token, recipients(2_000, 20));

    await fleet.attempted(ids, 300);
    expect((await fleet.control("POST", `/devices/${dark.deviceId}/offline`)).status).toBe(204);
    // Its senders go offline once the health pass sees no ping for OFFLINE_AFTER_S.
    await fleet.until(async () => [...(await statusOf(dark.senderIds)).values()].every((s) => s === "offline"), ids, "the dark phone's senders go offline");

    const settled = await fleet.settled(ids, 180_000);
    expect(settled).toEqual({ delivered: 2_000 });

    const attempts = await fleet.attempts(ids);
    const cancelled = attempts.filter((a) => a.status === "cancelled");
    console.info(`failover: ${cancelled.length} attempts cancelled on the dark phone and delivered elsewhere`);
    // The phone held what it accepted after going dark and before its senders went offline.
    expect(cancelled.length).toBeGreaterThan(20);
    expect(cancelled.every((a) => dark.senderIds.includes(a.senderId!))).toBe(true);
    // One delivered attempt per message; each cancelled one was followed by one on another phone.
    const delivered = attempts.filter((a) => a.status === "delivered");
    expect(delivered).toHaveLength(2_000);
    const failedOver = new Set(cancelled.map((a) => a.messageId));
    for (const a of delivered.filter((d) => failedOver.has(d.messageId))) {
      expect(dark.senderIds).not.toContain(a.senderId);
      expect(a.n).toBe(2);
    }
    // The gateway cancelled each one: it never left the dark phone.
    for (const a of cancelled.slice(0, 25)) expect(await gatewayState(dark.account, a.id)).toBe("Cancelled");

    // The timeline shows both attempts.
    const sample = await fleet.message(user.token, cancelled[0]!.messageId);
    expect(sample.status).toBe("delivered");
    expect(sample.attempts.map((a: { n: number; status: string }) => [a.n, a.status])).toEqual([
      [1, "cancelled"],
      [2, "delivered"],
    ]);

    // Back online: pings resume, its senders are active again, and it sends nothing it held.
    const darkSendsBefore = (await fleet.simSendsBySender(shared.filter((s) => dark.senderIds.includes(s.id)))).values();
    const deliveredBefore = [...darkSendsBefore].reduce((n, c) => n + c.delivered, 0);
    expect((await fleet.control("POST", `/devices/${dark.deviceId}/online`)).status).toBe(204);
    await fleet.until(async () => [...(await statusOf(dark.senderIds)).values()].every((s) => s === "active"), ids, "the phone's senders come back active");
    const darkAfter = await fleet.simSendsBySender(shared.filter((s) => dark.senderIds.includes(s.id)));
    expect([...darkAfter.values()].reduce((n, c) => n + c.delivered, 0)).toBe(deliveredBefore);

    const events = await fleet.db.select().from(senderEvents).where(inArray(senderEvents.senderId, dark.senderIds));
    for (const id of dark.senderIds) {
      expect(events.filter((e) => e.senderId === id).map((e) => e.type)).toEqual(expect.arrayContaining(["sender.offline", "sender.online"]));
    }
  }, 300_000);

  it("a dark phone that already fetched its messages ignores the cancel: nothing is resent, the messages wait as failover_unconfirmed, and go out when it is back", async () => {
    await slowFleet(6_000);
    const dark = phone(shared[shared.length - 1]!.deviceId);
    const user = await fleet.api.user();
    expect((await fleet.control("POST", `/devices/${dark.deviceId}/offline`, { fetched: true })).status).toBe(204);
    // Every message through the dark phone's first SIM, so they are its to hold. The ones its
    // sender takes before the health pass puts it offline are accepted and held; the rest wait
    // for it (sender_offline).
    const ids = await fleet.bulk(user.token, recipients(40, 21), { from: dark.senderIds[0] });
    await fleet.until(
      async () => {
        const held = await countWhere(ids, "accepted", "failover_unconfirmed");
        const waiting = await countWhere(ids, "queued", "sender_offline");
        return held > 0 && held + waiting === ids.length;
      },
      ids,
      "each message held as failover_unconfirmed or waiting for its offline sender",
      60_000,
    );
    const held = (await fleet.attempts(ids)).filter((a) => a.status === "accepted");
    expect(await fleet.attempts(ids)).toHaveLength(held.length); // nothing resent
    expect(held.every((a) => a.n === 1 && a.cancelRequestedAt !== null)).toBe(true);
    expect((await fleet.message(user.token, held[0]!.messageId)).waitingReason).toBe("failover_unconfirmed");
    for (const a of held.slice(0, 10)) expect(await gatewayState(dark.account, a.id)).not.toBe("Cancelled");

    expect((await fleet.control("POST", `/devices/${dark.deviceId}/online`)).status).toBe(204);
    expect(await fleet.settled(ids, 60_000)).toEqual({ delivered: 40 });
    const after = await fleet.attempts(ids);
    expect(after).toHaveLength(40);
    expect(after.every((a) => a.n === 1 && a.status === "delivered" && a.senderId === dark.senderIds[0])).toBe(true);
    expect((await fleet.message(user.token, held[0]!.messageId)).waitingReason).toBeNull();
  }, 180_000);

  it("a SIM that starts failing with RESULT_ERROR_LIMIT_EXCEEDED is paused by itself, and the bulk still completes elsewhere", async () => {
    await slowFleet(1_200);
    // Every sender active again (the tests above may leave one offline for a moment).
    await fleet.until(async () => (await fleet.senders()).every((s) => s.status === "active"), [], "every sender active");
    const limited = shared[2]!;
    expect((await fleet.control("POST", "/sims/limit", { deviceId: limited.deviceId, simNumber: limited.simNumber, dailyLimit: 5 })).status).toBe(204);
    const user = await fleet.api.user();
    const ids = await fleet.bulk(user.token, recipients(600, 22));

    await fleet.until(async () => (await statusOf([limited.id])).get(limited.id) === "paused", ids, "the limited SIM is paused", 60_000);
    expect(await fleet.settled(ids, 120_000)).toEqual({ delivered: 600 });
    const paused = (await fleet.senders()).find((s) => s.id === limited.id)!;
    expect(paused.pausedReason).toMatch(/^auto: RESULT_ERROR_LIMIT_EXCEEDED in \d+ of the last 10 attempts$/);
    const events = await fleet.db.select().from(senderEvents).where(inArray(senderEvents.senderId, [limited.id]));
    expect(events.map((e) => e.type)).toContain("sender.paused");
    // Each message that failed on it went out once more, elsewhere.
    const attempts = await fleet.attempts(ids);
    for (const a of attempts.filter((x) => x.status === "failed")) {
      expect(a.senderId).toBe(limited.id);
      expect(a.error).toMatch(/RESULT_ERROR_LIMIT_EXCEEDED/);
    }
    expect(attempts.filter((a) => a.status === "delivered")).toHaveLength(600);
    expect(attempts.filter((a) => a.status === "delivered" && a.senderId === limited.id).length).toBeLessThanOrEqual(5);
  }, 240_000);
});

/** How many of `ids` are in `status` with `waiting_reason`. */
async function countWhere(ids: string[], status: "accepted" | "queued", reason: WaitingReason): Promise<number> {
  const [row] = await fleet.db
    .select({ n: count() })
    .from(messages)
    .where(and(inArray(messages.id, ids), eq(messages.status, status), eq(messages.waitingReason, reason)));
  return row?.n ?? 0;
}
