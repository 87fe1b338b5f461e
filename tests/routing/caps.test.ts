/**
 * Daily caps (issue #15): a capped SIM sends exactly its cap and the rest go elsewhere; `from`
 * waits for its capped sender; with every sender capped, messages wait in `queued` with
 * `waitingReason: daily_cap` and go out the next day. The day is the test's: the budgets and the
 * simulator read one clock the test moves (ADR 0019: days are UTC by the worker's clock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recipients, startPhoneFleet, type PhoneFleet, type SenderJson } from "./harness";

let fleet: PhoneFleet;
let shared: SenderJson[];

beforeAll(async () => {
  fleet = await startPhoneFleet({ accounts: 3 });
  shared = await fleet.senders();
  expect(shared).toHaveLength(12);
}, 120_000);

afterAll(async () => {
  await fleet?.close();
}, 60_000);

/** Attempts per sender id among `rows`. */
const perSender = (rows: { senderId: string | null }[]) => {
  const out = new Map<string, number>();
  for (const r of rows) out.set(r.senderId ?? "none", (out.get(r.senderId ?? "none") ?? 0) + 1);
  return out;
};

describe("daily caps", () => {
  it("a SIM with daily_cap 100 sends exactly 100 that day; the rest wait (daily_cap) and then go elsewhere", async () => {
    const user = await fleet.api.user();
    const [x, ...others] = shared;
    await fleet.patchSender(x!.id, { dailyCap: 100 });
    await fleet.patchSenders(others.map((s) => s.id), { status: "paused" });
    await fleet.caughtUp();
    const simBefore = (await fleet.simSendsBySender([x!])).get(x!.id)!.sends;

    const ids = await fleet.bulk(user.token, recipients(150, 10));
    await fleet.until(async () => (await fleet.waiting(ids, "daily_cap")) === 50, ids, "50 wait for X's cap", 60_000);
    const capped = await fleet.attempts(ids);
    expect(capped).toHaveLength(100);
    expect(capped.every((a) => a.senderId === x!.id)).toBe(true);
    expect((await fleet.senders()).find((s) => s.id === x!.id)?.usage.today).toBe(100);
    const waiting = (await fleet.statusCounts(ids)).queued;
    expect(waiting).toBe(50);

    await fleet.patchSenders(others.map((s) => s.id), { status: "active" });
    expect(await fleet.settled(ids)).toEqual({ delivered: 150 });
    const attempts = await fleet.attempts(ids);
    expect(attempts).toHaveLength(150); // no message spent an attempt while it waited
    const counts = perSender(attempts);
    expect(counts.get(x!.id)).toBe(100);
    expect(attempts.filter((a) => a.senderId !== x!.id)).toHaveLength(50);
    expect((await fleet.simSendsBySender([x!])).get(x!.id)!.sends - simBefore).toBe(100);
  }, 120_000);

  it("`from` waits for its capped sender: the message stays queued with waitingReason daily_cap, and goes through that sender once it has budget", async () => {
    fleet.clock.nextUtcDay();
    const user = await fleet.api.user();
    const x = shared[0]!;
    await fleet.patchSender(x.id, { dailyCap: 2 });
    await fleet.caughtUp();

    const pinned: string[] = [];
    for (let i = 0; i < 3; i++) pinned.push((await fleet.send(user.token, { to: recipients(3, 11)[i], text: "Pinned", from: x.id })).id);
    await fleet.until(async () => (await fleet.waiting(pinned, "daily_cap")) === 1, pinned, "one pinned message waits");
    const sent = await fleet.attempts(pinned);
    expect(sent).toHaveLength(2);
    expect(sent.every((a) => a.senderId === x.id)).toBe(true);
    const waitingId = pinned.find((id) => !sent.some((a) => a.messageId === id))!;

    // The worker goes on routing others meanwhile, elsewhere; the pinned one keeps waiting.
    const free = await fleet.send(user.token, { to: recipients(1, 12)[0], text: "Not pinned" });
    await fleet.attempted([free.id]);
    expect((await fleet.attempts([free.id]))[0]?.senderId).not.toBe(x.id);
    const shown = await fleet.message(user.token, waitingId);
    expect(shown).toMatchObject({ status: "queued", waitingReason: "daily_cap", attemptCount: 0, senderId: null });
    expect(shown.attempts).toEqual([]);

    // A raised cap lets it go, through X and nothing else.
    await fleet.patchSender(x.id, { dailyCap: 3 });
    expect(await fleet.settled(pinned, 30_000)).toEqual({ delivered: 3 });
    const all = await fleet.attempts(pinned);
    expect(all).toHaveLength(3);
    expect(all.every((a) => a.senderId === x.id && a.n === 1)).toBe(true);
    expect(await fleet.message(user.token, waitingId)).toMatchObject({ senderId: x.id, from: x.phoneNumber, waitingReason: null, attemptCount: 1 });
  }, 90_000);

  it("with every sender capped, messages stay queued (waitingReason daily_cap) and go out the next day, no sender over its cap on either day", async () => {
    fleet.clock.nextUtcDay();
    const user = await fleet.api.user();
    await fleet.patchSenders(shared.map((s) => s.id), { dailyCap: 5, status: "active" });
    await fleet.caughtUp();

    const ids = await fleet.bulk(user.token, recipients(80, 13));
    await fleet.until(async () => (await fleet.waiting(ids, "daily_cap")) === 20, ids, "20 wait for tomorrow", 60_000);
    const today = await fleet.attempts(ids);
    expect(today).toHaveLength(60);
    expect([...perSender(today).values()]).toEqual(Array(12).fill(5));
    const waitingIds = ids.filter((id) => !today.some((a) => a.messageId === id));
    for (const id of waitingIds.slice(0, 3)) {
      expect(await fleet.message(user.token, id)).toMatchObject({ status: "queued", waitingReason: "daily_cap", attemptCount: 0 });
    }
    expect((await fleet.statusCounts(ids)).queued).toBe(20);

    fleet.clock.nextUtcDay();
    expect(await fleet.settled(ids, 60_000)).toEqual({ delivered: 80 });
    const attempts = await fleet.attempts(ids);
    expect(attempts).toHaveLength(80);
    expect(new Set(attempts.map((a) => a.messageId)).size).toBe(80);
    const tomorrow = attempts.filter((a) => waitingIds.includes(a.messageId));
    expect(tomorrow).toHaveLength(20);
    for (const [, n] of perSender(tomorrow)) expect(n).toBeLessThanOrEqual(5);
    await fleet.patchSenders(shared.map((s) => s.id), { dailyCap: null });
  }, 120_000);
});
