/**
 * Issue #15 "What it must show", on one fleet of 3 shared accounts × 2 phones × 2 SIMs (12
 * senders): the harness itself, a bulk spread over every sender, sticky routing, private
 * senders kept private, and a carrier limit that trips mid-bulk. Caps and the next day are in
 * caps.test.ts, the rate across replicas in replicas.test.ts, kill -9 in crash.test.ts and a
 * Redis flush in redis-flush.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@inboxerr/testing";
import { ofAccounts, recipients, startPhoneFleet, type PhoneFleet, type SenderJson } from "./harness";

let fleet: PhoneFleet;
let shared: SenderJson[];

beforeAll(async () => {
  fleet = await startPhoneFleet({ accounts: 3 });
  shared = await fleet.senders();
}, 120_000);

afterAll(async () => {
  await fleet?.close();
}, 60_000);

/** How many of `rows` each sender id has. */
const perSender = (rows: { senderId: string | null }[]) => {
  const out = new Map<string, number>();
  for (const r of rows) out.set(r.senderId ?? "none", (out.get(r.senderId ?? "none") ?? 0) + 1);
  return out;
};

describe("the fleet harness", () => {
  it("makes 3 shared gateway accounts whose sync found 2 phones × 2 SIMs each: 12 active senders, listed by GET /senders", async () => {
    expect(fleet.accounts).toHaveLength(3);
    expect(shared).toHaveLength(12);
    for (const account of fleet.accounts) {
      const own = ofAccounts(shared, [account.id]);
      expect(own).toHaveLength(4);
      expect(new Set(own.map((s) => s.deviceId)).size).toBe(2);
      expect(own.map((s) => s.simNumber).sort()).toEqual([1, 1, 2, 2]);
      // Each sender is a SIM the simulator knows under that login.
      const stats = await fleet.simStats(account.username);
      for (const s of own) expect(stats.devices[s.deviceId]?.sims[String(s.simNumber)]).toBeDefined();
    }
    expect(shared.every((s) => s.status === "active" && /^\+\d+$/.test(s.phoneNumber ?? ""))).toBe(true);
    expect(new Set(shared.map((s) => s.phoneNumber)).size).toBe(12);
    // A plain user sees the shared senders too (they may route through them).
    const user = await fleet.api.user();
    expect((await fleet.senders(user.token)).map((s) => s.id).sort()).toEqual(shared.map((s) => s.id).sort());
  });
});

// From here on the sender-worker must route (h15/route, h15/budgets), webhook-ingest must map
// attempts back (h15/ingest) and the api must show the new fields (h15/api).
describe("routing across the fleet", () => {
  it("spreads a bulk of 3,000 over all 12 senders, one attempt per message, and the simulator's per-SIM counts agree with message_attempts", async () => {
    const user = await fleet.api.user();
    const before = await fleet.simSendsBySender(shared);
    const ids = await fleet.bulk(user.token, recipients(3_000, 1));

    const settled = await fleet.settled(ids, 240_000);
    expect(settled).toEqual({ delivered: 3_000 });

    const attempts = await fleet.attempts(ids);
    expect(attempts).toHaveLength(3_000); // one each: nothing failed before transmission
    expect(new Set(attempts.map((a) => a.messageId)).size).toBe(3_000);
    expect(attempts.every((a) => a.n === 1 && a.status === "delivered")).toBe(true);
    const counts = perSender(attempts);
    expect([...counts.keys()].sort()).toEqual(shared.map((s) => s.id).sort()); // every sender got some, no other sender any
    // Ties go round-robin (no limits: all tie), so none is starved: ~250 each, at least 50.
    for (const [, n] of counts) expect(n).toBeGreaterThanOrEqual(50);

    const after = await fleet.simSendsBySender(shared);
    for (const s of shared) {
      expect(after.get(s.id)!.sends - before.get(s.id)!.sends, `SIM ${s.deviceId}/${s.simNumber}`).toBe(counts.get(s.id));
    }
    // Each attempt id reached the gateway once, on the account of its sender.
    const sendsById = Object.assign({}, ...(await Promise.all(fleet.accounts.map((a) => fleet.simStats(a.username)))).map((s) => s.sendsById));
    expect(attempts.filter((a) => sendsById[a.id] !== 1)).toEqual([]);

    // The api shows the sender, its number and the attempt.
    const bySender = new Map(shared.map((s) => [s.id, s]));
    const one = await fleet.message(user.token, ids[0]!);
    expect(one).toMatchObject({ senderId: attempts.find((a) => a.messageId === ids[0])!.senderId, attemptCount: 1, waitingReason: null });
    expect(one.from).toBe(bySender.get(one.senderId)!.phoneNumber);
    expect(one.attempts).toEqual([expect.objectContaining({ id: attempts.find((a) => a.messageId === ids[0])!.id, n: 1, status: "delivered" })]);
  }, 300_000);

  it("keeps a recipient on one sender: a second message to the same number goes through the sender of the first", async () => {
    const user = await fleet.api.user();
    const to = recipients(24, 2);
    const first = await fleet.bulk(user.token, to);
    await fleet.attempted(first);
    const firstAttempts = await fleet.attempts(first);
    // 24 recipients over 12 senders: the first round used several.
    expect(new Set(firstAttempts.map((a) => a.senderId)).size).toBeGreaterThan(1);

    const second = await fleet.bulk(user.token, to);
    await fleet.settled([...first, ...second]);
    const secondAttempts = await fleet.attempts(second);
    const senderOf = new Map(firstAttempts.map((a) => [a.messageId, a.senderId]));
    for (let i = 0; i < to.length; i++) {
      const again = secondAttempts.find((a) => a.messageId === second[i]);
      expect(again?.senderId, `recipient ${to[i]}`).toBe(senderOf.get(first[i]!));
    }
    // Single sends stick too.
    const single = await fleet.send(user.token, { to: to[0], text: "Sticky single" });
    await fleet.attempted([single.id]);
    expect((await fleet.attempts([single.id]))[0]?.senderId).toBe(senderOf.get(first[0]!));
  }, 120_000);

  it("never routes a user through another user's private sender, nor a private account's owner through shared ones", async () => {
    const owner = await fleet.api.user();
    const other = await fleet.api.user();
    const account = await fleet.addPrivateAccount(owner.token);
    const own = ofAccounts(await fleet.senders(owner.token), [account.id]);
    expect(own).toHaveLength(4);
    await fleet.caughtUp(); // routing knows the owner has senders of their own now
    // The other user cannot see them, nor pin them.
    expect((await fleet.senders(other.token)).map((s) => s.id)).not.toContain(own[0]!.id);

    const [mine, theirs] = await Promise.all([fleet.bulk(owner.token, recipients(200, 3)), fleet.bulk(other.token, recipients(200, 4))]);
    await fleet.settled([...mine, ...theirs]);
    const ownIds = new Set(own.map((s) => s.id));
    const sharedIds = new Set(shared.map((s) => s.id));
    const mineAttempts = await fleet.attempts(mine);
    const theirAttempts = await fleet.attempts(theirs);
    expect(mineAttempts).toHaveLength(200);
    expect(theirAttempts).toHaveLength(200);
    expect(mineAttempts.filter((a) => !ownIds.has(a.senderId!))).toEqual([]);
    expect(theirAttempts.filter((a) => !sharedIds.has(a.senderId!))).toEqual([]);
    // The private account's phones got exactly the owner's messages.
    const sims = await fleet.simSendsBySender(own, [account]);
    expect([...sims.values()].reduce((n, c) => n + c.sends, 0)).toBe(200);

    // `from` naming another user's sender is refused (422, h15/api) and stores nothing.
    const before = await fleet.api.call("GET", "/api/v1/messages?limit=100", { token: other.token });
    const refused = await fleet.api.call("POST", "/api/v1/messages", { token: other.token, body: { to: "+12025550123", text: "x", from: own[0]!.id } });
    expect(refused.status).toBe(422);
    const after = await fleet.api.call("GET", "/api/v1/messages?limit=100", { token: other.token });
    expect(after.body.data.map((m: { id: string }) => m.id)).toEqual(before.body.data.map((m: { id: string }) => m.id));
  }, 120_000);

  it("re-attempts on another SIM what a SIM's tripped carrier limit failed: each attempt id reaches the gateway once, each message is transmitted once", async () => {
    const user = await fleet.api.user();
    const [tripping, ...others] = shared;
    const y = tripping!;
    const account = fleet.accounts.find((a) => a.id === y.accountId)!;
    // Only Y takes the bulk, its phone holds what it gets (Pending) until Y is paused again, so
    // every re-attempt has to go elsewhere; then 5 more sends today trip Y's carrier limit.
    await fleet.patchSenders(others.map((s) => s.id), { status: "paused" });
    const sentToday = (await fleet.simStats(account.username)).devices[y.deviceId]!.sims[String(y.simNumber)]!.sends;
    expect((await fleet.control("POST", "/sims/limit", { deviceId: y.deviceId, simNumber: y.simNumber, dailyLimit: sentToday + 5 })).status).toBe(204);
    expect((await fleet.control("POST", `/devices/${y.deviceId}/offline`)).status).toBe(204);
    // The worker's sender cache refreshes every second: wait until a probe routes to Y. A probe
    // Y took counts against its carrier limit too, so probes are accounted for below.
    const probes: string[] = [];
    await waitFor(
      async () => {
        const probe = await fleet.send(user.token, { to: recipients(1, 5)[0], text: "probe" });
        probes.push(probe.id);
        await fleet.attempted([probe.id]);
        return (await fleet.attempts([probe.id]))[0]?.senderId === y.id;
      },
      { timeoutMs: 20_000, intervalMs: 500, message: "routing sees the other senders paused" },
    );

    const ids = await fleet.bulk(user.token, recipients(30, 6));
    await fleet.attempted(ids);
    const first = await fleet.attempts(ids);
    expect(first.every((a) => a.senderId === y.id)).toBe(true);
    await waitFor(async () => (await fleet.attempts(ids)).every((a) => a.status === "accepted"), { message: "30 held by the phone" });

    await fleet.patchSender(y.id, { status: "paused" });
    await fleet.patchSenders(others.map((s) => s.id), { status: "active" });
    // Sent after the pause is seen: the worker's cache is a second old at most.
    await waitFor(
      async () => {
        const probe = await fleet.send(user.token, { to: recipients(1, 7)[0], text: "probe" });
        probes.push(probe.id);
        await fleet.attempted([probe.id]);
        return (await fleet.attempts([probe.id]))[0]?.senderId !== y.id;
      },
      { timeoutMs: 20_000, intervalMs: 500, message: "routing sees Y paused" },
    );
    const limitBefore = (await fleet.simStats(account.username)).devices[y.deviceId]!.sims[String(y.simNumber)]!;
    expect((await fleet.control("POST", `/devices/${y.deviceId}/online`)).status).toBe(204);

    const all = [...ids, ...probes];
    expect(await fleet.settled(all)).toEqual({ delivered: all.length });
    const attempts = await fleet.attempts(all);
    const onY = attempts.filter((a) => a.senderId === y.id);
    // Every bulk message's first attempt, and the probes Y took; no re-attempt went back to Y.
    expect(onY.filter((a) => ids.includes(a.messageId))).toHaveLength(30);
    expect(onY.every((a) => a.n === 1)).toBe(true);
    const tripped = onY.filter((a) => a.status === "failed");
    expect(tripped.length).toBeGreaterThanOrEqual(onY.length - 5); // 5 more sends today were allowed
    expect(tripped.filter((a) => ids.includes(a.messageId)).length).toBeGreaterThanOrEqual(25);
    expect(tripped.every((a) => a.error?.includes("RESULT_ERROR_LIMIT_EXCEEDED"))).toBe(true);
    for (const failed of tripped) {
      const next = attempts.filter((a) => a.messageId === failed.messageId && a.n === 2);
      expect(next, `message ${failed.messageId}`).toHaveLength(1);
      expect(next[0]!.senderId).not.toBe(y.id);
      expect(next[0]!.id).not.toBe(failed.id);
      expect(next[0]!.status).toBe("delivered");
    }
    expect(attempts).toHaveLength(all.length + tripped.length);

    // Each attempt id reached the gateway once; each message left a phone once (Y's tripped
    // sends never left it: the carrier refused them).
    const stats = await Promise.all(fleet.accounts.map((a) => fleet.simStats(a.username)));
    const sendsById: Record<string, number> = Object.assign({}, ...stats.map((s) => s.sendsById));
    expect(attempts.filter((a) => sendsById[a.id] !== 1)).toEqual([]);
    const transmitted = attempts.filter((a) => a.status !== "failed");
    expect(transmitted).toHaveLength(all.length);
    expect(new Set(transmitted.map((a) => a.messageId)).size).toBe(all.length);
    const limitAfter = (await fleet.simStats(account.username)).devices[y.deviceId]!.sims[String(y.simNumber)]!;
    expect(limitAfter.limitFailed - limitBefore.limitFailed).toBe(tripped.length);

    // The api lists both attempts of a re-attempted message.
    const shown = await fleet.message(user.token, tripped[0]!.messageId);
    expect(shown.attemptCount).toBe(2);
    expect(shown.attempts.map((a: { n: number; status: string }) => [a.n, a.status])).toEqual([
      [1, "failed"],
      [2, "delivered"],
    ]);
    await fleet.patchSender(y.id, { status: "active" });
  }, 180_000);
});
