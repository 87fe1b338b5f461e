/**
 * Redis loses everything mid-run (issue #15): the budgets are rebuilt from the attempt rows, no
 * daily cap is overspent, and nothing is lost (every message ends delivered). The fleet runs on
 * a redis-server of this test's own, which it flushes; the run's shared Redis is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "@inboxerr/contracts";
import { startRedisServer, waitFor, type RedisServer } from "@inboxerr/testing";
import { recipients, startPhoneFleet, type PhoneFleet, type SenderJson } from "./harness";

const TOTAL = 1_200;
const CAP = 30;

let redis: RedisServer;
let fleet: PhoneFleet;
let shared: SenderJson[];

beforeAll(async () => {
  redis = await startRedisServer();
  // Replicas start in the test, after the limits are set (each loads its sender cache fresh).
  fleet = await startPhoneFleet({ accounts: 3, replicas: 0, redisUrl: redis.url });
  shared = await fleet.senders();
  expect(shared).toHaveLength(12);
}, 120_000);

afterAll(async () => {
  await fleet?.close();
  await redis?.stop();
}, 60_000);

describe("a Redis flush mid-run", () => {
  it(`rebuilds the budgets: no daily cap overspent, all ${TOTAL} messages delivered, each transmitted once`, async () => {
    const user = await fleet.api.user();
    const capped = shared.slice(0, 4);
    await fleet.patchSenders(capped.map((s) => s.id), { dailyCap: CAP });
    // A rate on every SIM makes the run last long enough to flush in the middle of it.
    await fleet.patchSenders(shared.map((s) => s.id), { ratePerMinute: 600 });
    const simBefore = await fleet.simSendsBySender(shared);
    // Two replicas: the rebuild must hold when both race to do it.
    await fleet.startWorker();
    await fleet.startWorker();

    const ids = await fleet.bulk(user.token, recipients(TOTAL, 30));
    await fleet.attempted(ids, 300, 60_000);
    const flusher = createRedis(redis.url, "worker");
    try {
      await flusher.flushall();
    } finally {
      flusher.disconnect();
    }
    const beforeFlush = await fleet.attempts(ids);
    expect(beforeFlush.length).toBeLessThan(TOTAL); // the flush came mid-run

    expect(await fleet.settled(ids, 180_000)).toEqual({ delivered: TOTAL });
    const attempts = await fleet.attempts(ids);
    expect(attempts).toHaveLength(TOTAL); // one each: nothing re-attempted, nothing lost
    expect(new Set(attempts.map((a) => a.messageId)).size).toBe(TOTAL);
    for (const s of capped) {
      const n = attempts.filter((a) => a.senderId === s.id).length;
      expect(n, `capped sender ${s.id}`).toBeLessThanOrEqual(CAP);
    }
    // The phones agree: no capped SIM sent more than its cap, every message went out once.
    const simAfter = await fleet.simSendsBySender(shared);
    for (const s of capped) expect(simAfter.get(s.id)!.sends - simBefore.get(s.id)!.sends).toBeLessThanOrEqual(CAP);
    const sent = shared.reduce((n, s) => n + simAfter.get(s.id)!.sends - simBefore.get(s.id)!.sends, 0);
    expect(sent).toBe(TOTAL);
    const stats = await Promise.all(fleet.accounts.map((a) => fleet.simStats(a.username)));
    const sendsById: Record<string, number> = Object.assign({}, ...stats.map((s) => s.sendsById));
    // A send retried after the flush is answered 409 by the phone (counted here, not sent twice).
    expect(attempts.filter((a) => !(sendsById[a.id]! >= 1))).toEqual([]);

    // The rebuilt budgets are what the rows say: a capped sender with its cap spent gets no more.
    const more = await fleet.bulk(user.token, recipients(24, 31));
    await fleet.settled(more, 60_000);
    const moreAttempts = await fleet.attempts(more);
    for (const s of capped) {
      const total = [...attempts, ...moreAttempts].filter((a) => a.senderId === s.id).length;
      expect(total).toBeLessThanOrEqual(CAP);
    }
    await waitFor(async () => (await fleet.senders()).filter((s) => capped.some((c) => c.id === s.id)).every((s) => s.usage.today <= CAP));
  }, 300_000);
});
