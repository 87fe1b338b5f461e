import { Redis } from "ioredis";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createDb } from "@inboxerr/db";
import { testEnv } from "@inboxerr/testing";
import { testPrefix } from "../testing/harness";
import { createBudgets, type BudgetsOptions } from "./budgets";
import { budgetSender, granted, grantsBySender, HOUR, request, testClock } from "./testing";

// Real Redis (a prefix per test) and the run's Postgres (rebuilds find no rows for these
// made-up sender ids: every budget starts empty). settleMs 0: the sentinel's wait has its own
// test in budgets.rebuild.test.ts.
const env = testEnv();
const { pool, close } = createDb(env.databaseUrl, { max: 2 });
const redis = new Redis(env.redisUrl);
const other = new Redis(env.redisUrl);
afterAll(async () => {
  await Promise.all([close(), redis.quit(), other.quit()]);
});

function setup(opts: Partial<BudgetsOptions> = {}) {
  const clock = testClock();
  const prefix = testPrefix();
  const make = (conn: Redis) => createBudgets({ redis: conn, pool, prefix, clock: clock.read, settleMs: 0, ...opts });
  return { clock, budgets: make(redis), make };
}

const nextUtcMidnight = (now: number) => Math.floor(now / (24 * HOUR)) * 24 * HOUR + 24 * HOUR;

describe("budgets: daily and monthly caps", () => {
  it("grants exactly the daily cap, then waits daily_cap until the next UTC midnight, and grants again that day", async () => {
    const { clock, budgets } = setup();
    const s = budgetSender({ dailyCap: 100 });
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(...(await budgets.reserve(Array.from({ length: 50 }, () => request([s])))));
    expect(granted(decisions)).toBe(100);
    expect(decisions.slice(100)).toEqual(Array(50).fill({ kind: "wait", reason: "daily_cap", retryAt: nextUtcMidnight(clock.now) }));

    clock.now = nextUtcMidnight(clock.now) + 1;
    expect(await budgets.reserve([request([s])])).toEqual([{ kind: "granted", senderId: s.id }]);
  });

  it("counts distinct recipients a month: a repeat recipient is free at the cap, a new one waits for the next month", async () => {
    const { clock, budgets } = setup();
    const s = budgetSender({ monthlyUniqueCap: 2 });
    const [a, b] = ["+15550000001", "+15550000002"];
    const first = await budgets.reserve([request([s], { recipient: a }), request([s], { recipient: a }), request([s], { recipient: b })]);
    expect(granted(first)).toBe(3);

    const nextMonth = Date.UTC(2030, 1, 1);
    expect(await budgets.reserve([request([s], { recipient: "+15550000003" }), request([s], { recipient: b })])).toEqual([
      { kind: "wait", reason: "monthly_cap", retryAt: nextMonth },
      { kind: "granted", senderId: s.id },
    ]);
    clock.now = nextMonth;
    expect(await budgets.reserve([request([s], { recipient: "+15550000003" })])).toEqual([{ kind: "granted", senderId: s.id }]);
  });
});

describe("budgets: rate", () => {
  // 60/min: a token a second, a burst of max(1, floor(60 / 30)) = 2.
  const RATE = 60;
  const BURST = 2;

  it("grants at most rate + burst over a simulated minute", async () => {
    const { clock, budgets } = setup({ maxBookAheadMs: 0 });
    const s = budgetSender({ ratePerMinute: RATE });
    let total = 0;
    for (const end = clock.now + 60_000; clock.now < end; clock.advance(100)) total += granted(await budgets.reserve([request([s]), request([s])]));
    expect(total).toBeLessThanOrEqual(RATE + BURST);
    expect(total).toBeGreaterThanOrEqual(RATE);
  });

  it("holds the same bound for two replicas on their own connections, reserving at once", async () => {
    const { clock, make } = setup({ maxBookAheadMs: 0 });
    const [one, two] = [make(redis), make(other)];
    const s = budgetSender({ ratePerMinute: RATE });
    let total = 0;
    for (const end = clock.now + 60_000; clock.now < end; clock.advance(100)) {
      const both = await Promise.all([one.reserve([request([s]), request([s])]), two.reserve([request([s]), request([s])])]);
      total += granted(both.flat());
    }
    expect(total).toBeLessThanOrEqual(RATE + BURST);
    expect(total).toBeGreaterThanOrEqual(RATE);
  });

  it("answers rate_limited with the next token when no slot fits the booking horizon", async () => {
    const { clock, budgets } = setup({ maxBookAheadMs: 0 });
    const s = budgetSender({ ratePerMinute: RATE });
    const [, , third] = await budgets.reserve([request([s]), request([s]), request([s])]);
    expect(third).toEqual({ kind: "wait", reason: "rate_limited", retryAt: clock.now + 1_000 });
  });
});

describe("budgets: choosing a sender", () => {
  it("spreads evenly over equal senders (round robin on ties)", async () => {
    const { budgets } = setup();
    const equal = [budgetSender(), budgetSender(), budgetSender()];
    const limited = [budgetSender({ ratePerMinute: 600 }), budgetSender({ ratePerMinute: 600 })];
    const byUnlimited = grantsBySender(await budgets.reserve(Array.from({ length: 300 }, () => request(equal))));
    expect([...byUnlimited.values()]).toEqual([100, 100, 100]);
    // 600/min: bursts of 20 each; 40 requests take both bursts whole.
    const byRate = grantsBySender(await budgets.reserve(Array.from({ length: 40 }, () => request(limited))));
    expect([...byRate.values()]).toEqual([20, 20]);
  });

  it("picks the most headroom: rate tokens, then daily budget left, then monthly budget left", async () => {
    const { budgets } = setup();
    const small = budgetSender({ dailyCap: 5, monthlyUniqueCap: 1000 });
    const big = budgetSender({ dailyCap: 50, monthlyUniqueCap: 1000 });
    const fewRecipients = budgetSender({ dailyCap: 49, monthlyUniqueCap: 10 });
    expect(await budgets.reserve([request([small, big])])).toEqual([{ kind: "granted", senderId: big.id }]);
    // Both have 49 left today now; big has more recipients left this month.
    expect(await budgets.reserve([request([fewRecipients, big])])).toEqual([{ kind: "granted", senderId: big.id }]);
    const fast = budgetSender({ ratePerMinute: 600, dailyCap: 5 });
    const slow = budgetSender({ ratePerMinute: 60, dailyCap: 50 });
    expect(await budgets.reserve([request([slow, fast])])).toEqual([{ kind: "granted", senderId: fast.id }]);
  });

  it("preferFirst: candidates[0] wins whenever it can be granted now, then the others take over", async () => {
    const { budgets } = setup();
    const sticky = budgetSender({ dailyCap: 3 });
    const roomy = budgetSender({ dailyCap: 100 });
    const decisions = await budgets.reserve(Array.from({ length: 5 }, () => request([sticky, roomy], { preferFirst: true })));
    expect(decisions.map((d) => d.kind === "granted" && d.senderId)).toEqual([sticky.id, sticky.id, sticky.id, roomy.id, roomy.id]);
  });

  it("waits for the nearest reason among the candidates: rate_limited, then daily_cap, then monthly_cap", async () => {
    const { clock, budgets } = setup({ maxBookAheadMs: 0 });
    const noMonth = budgetSender({ monthlyUniqueCap: 0 });
    const noDay = budgetSender({ dailyCap: 0 });
    const slow = budgetSender({ ratePerMinute: 1 });
    expect((await budgets.reserve([request([slow])]))[0]).toEqual({ kind: "granted", senderId: slow.id });
    expect(await budgets.reserve([request([noMonth]), request([noMonth, noDay]), request([noMonth, noDay, slow])])).toEqual([
      { kind: "wait", reason: "monthly_cap", retryAt: Date.UTC(2030, 1, 1) },
      { kind: "wait", reason: "daily_cap", retryAt: nextUtcMidnight(clock.now) },
      { kind: "wait", reason: "rate_limited", retryAt: clock.now + 60_000 },
    ]);
  });

  it("throttleAccount: that account's senders are skipped until it ends; the only candidate waits for it", async () => {
    const { clock, budgets } = setup();
    const throttled = budgetSender();
    const fine = budgetSender();
    await budgets.throttleAccount(throttled.accountId, 10_000);
    const mixed = await budgets.reserve(Array.from({ length: 4 }, () => request([throttled, fine])));
    expect(grantsBySender(mixed)).toEqual(new Map([[fine.id, 4]]));
    expect(await budgets.reserve([request([throttled])])).toEqual([{ kind: "wait", reason: "rate_limited", retryAt: clock.now + 10_000 }]);
    clock.advance(10_000);
    expect(await budgets.reserve([request([throttled])])).toEqual([{ kind: "granted", senderId: throttled.id }]);
  });
});

describe("budgets: bookings", () => {
  it("books the earliest slot, honours it at the slot without spending again", async () => {
    const { clock, budgets } = setup();
    // 60/min, burst 2, 3 a day: two grants now, the third booked; the day is then spent.
    const s = budgetSender({ ratePerMinute: 60, dailyCap: 3 });
    const booked = request([s]);
    const decisions = await budgets.reserve([request([s]), request([s]), booked]);
    expect(decisions[2]).toEqual({ kind: "wait", reason: "rate_limited", retryAt: clock.now + 1_000, bookedSenderId: s.id });
    const slot = clock.now + 1_000;

    // Early: the same booking again, nothing spent.
    clock.advance(500);
    expect(await budgets.reserve([booked])).toEqual([{ kind: "wait", reason: "rate_limited", retryAt: slot, bookedSenderId: s.id }]);
    // The day's budget went to the booking: a new message waits for tomorrow.
    clock.now = slot;
    expect(await budgets.reserve([request([s])])).toEqual([{ kind: "wait", reason: "daily_cap", retryAt: nextUtcMidnight(slot) }]);
    // At the slot the booking is granted, once.
    expect(await budgets.reserve([booked])).toEqual([{ kind: "granted", senderId: s.id }]);
    expect(await budgets.reserve([booked])).toEqual([{ kind: "wait", reason: "daily_cap", retryAt: nextUtcMidnight(slot) }]);
  });

  it("drops a booking whose sender is no longer a candidate and decides afresh (the booked budget stays spent)", async () => {
    const { clock, budgets } = setup();
    const s = budgetSender({ ratePerMinute: 60, dailyCap: 3 });
    const replacement = budgetSender();
    const booked = request([s]);
    await budgets.reserve([request([s]), request([s]), booked]);
    expect(await budgets.reserve([{ ...booked, candidates: [replacement] }])).toEqual([{ kind: "granted", senderId: replacement.id }]);
    // The booking is gone: back on `s` the message is decided afresh, and s's day is spent.
    clock.advance(60_000);
    expect(await budgets.reserve([booked])).toEqual([{ kind: "wait", reason: "daily_cap", retryAt: nextUtcMidnight(clock.now) }]);
  });
});

describe("budgets: bookings at a period's end", () => {
  // 60/min, burst 2: two grants, then one slot a second. Ten seconds before midnight the slot
  // at midnight itself would charge the ending day's counter (and month's set) for a send made
  // in the next one, which the new period's keys (maybe rebuilt from Postgres) never see.
  it.each([
    ["day", Date.UTC(2030, 0, 15, 23, 59, 50)],
    ["month", Date.UTC(2030, 0, 31, 23, 59, 50)],
  ])("never books a slot at or past the end of the UTC %s: waits rate_limited for it instead", async (_, start) => {
    const { clock, budgets } = setup();
    clock.now = start;
    const midnight = nextUtcMidnight(start);
    const s = budgetSender({ ratePerMinute: 60, dailyCap: 1_000, monthlyUniqueCap: 1_000 });
    const decisions = await budgets.reserve(Array.from({ length: 12 }, () => request([s])));
    expect(granted(decisions)).toBe(2);
    expect(decisions.slice(2, 11)).toEqual(
      Array.from({ length: 9 }, (_, k) => ({ kind: "wait", reason: "rate_limited", retryAt: start + (k + 1) * 1_000, bookedSenderId: s.id })),
    );
    expect(decisions[11]).toEqual({ kind: "wait", reason: "rate_limited", retryAt: midnight });

    // At midnight that message is granted on the new day's budget.
    clock.now = midnight;
    expect(await budgets.reserve([request([s])])).toEqual([{ kind: "granted", senderId: s.id }]);
  });

  it("decides afresh a booking whose job runs after its day ended, charging the new day", async () => {
    const { clock, budgets } = setup();
    clock.now = Date.UTC(2030, 0, 15, 23, 59, 58);
    const s = budgetSender({ ratePerMinute: 60, dailyCap: 3 });
    const late = request([s]);
    const decisions = await budgets.reserve([request([s]), request([s]), late]);
    expect(decisions[2]).toMatchObject({ kind: "wait", bookedSenderId: s.id, retryAt: clock.now + 1_000 });

    // The job runs half a second into the next day: granted, and counted in that day.
    clock.now = nextUtcMidnight(clock.now) + 500;
    expect(await budgets.reserve([late])).toEqual([{ kind: "granted", senderId: s.id }]);
    // Two more slots fit today's cap of 3; the third new message waits for tomorrow.
    const fresh = await budgets.reserve([request([s]), request([s]), request([s])]);
    expect(fresh.map((d) => (d.kind === "wait" ? d.reason : d.kind))).toEqual(["rate_limited", "rate_limited", "daily_cap"]);
  });
});

describe("budgets: release", () => {
  it("gives back the rate token and the daily count of a grant whose claim did not commit", async () => {
    const { budgets } = setup({ maxBookAheadMs: 0 });
    const s = budgetSender({ ratePerMinute: 60, dailyCap: 2 });
    const reqs = [request([s]), request([s])];
    expect(granted(await budgets.reserve(reqs))).toBe(2);
    const third = request([s]);
    expect((await budgets.reserve([third]))[0]).toMatchObject({ kind: "wait" });
    await budgets.release([{ messageId: reqs[0]!.messageId, senderId: s.id, recipient: reqs[0]!.recipient }]);
    expect(await budgets.reserve([third])).toEqual([{ kind: "granted", senderId: s.id }]);
    // Releasing what it never granted (or twice) gives nothing back.
    await budgets.release([{ messageId: reqs[0]!.messageId, senderId: s.id, recipient: reqs[0]!.recipient }]);
    expect((await budgets.reserve([request([s])]))[0]).toMatchObject({ kind: "wait" });
  });
});

describe("budgets: one round trip", () => {
  it("decides 500 requests over 20 senders in one script call", async () => {
    const conn = new Redis(env.redisUrl);
    try {
      const { make } = setup();
      const fleet = Array.from({ length: 20 }, () => budgetSender({ ratePerMinute: 6_000, dailyCap: 10_000, monthlyUniqueCap: 10_000 }));
      const warm = make(conn);
      await warm.reserve([request(fleet)]); // loads the script and rebuilds the keys
      const sent = vi.spyOn(conn, "sendCommand");
      const decisions = await warm.reserve(Array.from({ length: 500 }, () => request(fleet)));
      expect(sent.mock.calls.map(([cmd]) => cmd.name)).toEqual(["evalsha"]);
      expect(decisions).toHaveLength(500);
      expect(granted(decisions)).toBe(500);
    } finally {
      await conn.quit();
    }
  });
});
