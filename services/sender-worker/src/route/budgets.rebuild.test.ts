import { and, count, eq, gte } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createDb, gatewayAccounts, messageAttempts, messages, senders, type AttemptStatus } from "@inboxerr/db";
import { createTestUser, deleteKeysByPrefix, testEnv, uniqueSuffix } from "@inboxerr/testing";
import { testPrefix } from "../testing/harness";
import type { BudgetSender } from "./budget-types";
import { createBudgets, type BudgetsOptions } from "./budgets";
import { budgetSender, granted, HOUR, request, testClock } from "./testing";

// Budgets rebuilt from attempt rows in the run's Postgres, after keys (or all of Redis) are lost.
const env = testEnv();
const { db, pool, close } = createDb(env.databaseUrl, { max: 4 });
const redis = new Redis(env.redisUrl);
const other = new Redis(env.redisUrl);
afterAll(async () => {
  await Promise.all([close(), redis.quit(), other.quit()]);
});

/** A sender row (with its user and account) and its BudgetSender. */
async function fleetSender(limits: Pick<BudgetSender, "dailyCap" | "monthlyUniqueCap">) {
  const user = await createTestUser(db);
  const [account] = await db
    .insert(gatewayAccounts)
    .values({ ownerUserId: user.id, name: `budgets-${uniqueSuffix()}`, baseUrl: "http://127.0.0.1:9/3rdparty/v1", username: "budgets" })
    .returning();
  const [row] = await db
    .insert(senders)
    .values({ accountId: account!.id, deviceId: `device-${uniqueSuffix()}`, ...limits })
    .returning();
  return { userId: user.id, sender: budgetSender({ id: row!.id, accountId: account!.id, ...limits }) };
}

/** Committed attempts of `senderId` begun at `at`, one message per recipient. */
async function commitAttempts(userId: string, senderId: string, at: number, recipients: string[], status: AttemptStatus = "sending") {
  const rows = await db
    .insert(messages)
    .values(recipients.map((to) => ({ userId, to, text: "budget", encoding: "GSM-7" as const, segments: 1, status: "sending" as const })))
    .returning({ id: messages.id });
  await db.insert(messageAttempts).values(rows.map((m) => ({ id: m.id, messageId: m.id, senderId, n: 1, status, createdAt: new Date(at) })));
}

async function attemptsSince(senderId: string, since: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(messageAttempts)
    .where(and(eq(messageAttempts.senderId, senderId), gte(messageAttempts.createdAt, new Date(since))));
  return row?.n ?? 0;
}

/** Deletes the budget keys of one kind ("day", "month") under `prefix`, whatever their generation. */
async function deleteBudgetKeys(prefix: string, kind: "day" | "month"): Promise<void> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:budget:{fleet}:*:${kind}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  expect(keys.length).toBeGreaterThan(0);
  await redis.del(...keys);
}

function setup(opts: Partial<BudgetsOptions> = {}) {
  const clock = testClock();
  const prefix = testPrefix();
  const make = (conn: Redis) => createBudgets({ redis: conn, pool, prefix, clock: clock.read, settleMs: 0, ...opts });
  return { clock, prefix, budgets: make(redis), make };
}

const dayStart = (now: number) => Math.floor(now / (24 * HOUR)) * 24 * HOUR;

describe("budgets rebuilt from Postgres", () => {
  it("rebuilds a lost daily count from today's attempts, a cancelled one and yesterday's aside", async () => {
    const { clock, prefix, budgets } = setup();
    const { userId, sender } = await fleetSender({ dailyCap: 5, monthlyUniqueCap: null });
    await commitAttempts(userId, sender.id, clock.now - HOUR, ["+15551000001", "+15551000002", "+15551000003"]);
    await commitAttempts(userId, sender.id, clock.now - HOUR, ["+15551000004"], "cancelled");
    await commitAttempts(userId, sender.id, dayStart(clock.now) - HOUR, ["+15551000005"]);

    const first = await budgets.reserve(Array.from({ length: 4 }, () => request([sender])));
    expect(granted(first)).toBe(2);
    await commitAttempts(userId, sender.id, clock.now, ["+15551000006", "+15551000007"]);

    await deleteBudgetKeys(prefix, "day");
    expect(await budgets.reserve([request([sender])])).toEqual([{ kind: "wait", reason: "daily_cap", retryAt: dayStart(clock.now) + 24 * HOUR }]);
  });

  it("rebuilds a lost monthly set: this month's recipients are free, new ones count", async () => {
    const { clock, prefix, budgets } = setup();
    const { userId, sender } = await fleetSender({ dailyCap: null, monthlyUniqueCap: 3 });
    const [x, y, z, w] = ["+15552000001", "+15552000002", "+15552000003", "+15552000004"];
    await commitAttempts(userId, sender.id, clock.now - 5 * 24 * HOUR, [x, y, x]);
    await commitAttempts(userId, sender.id, clock.now - HOUR, [z], "cancelled");
    await commitAttempts(userId, sender.id, Date.UTC(2029, 11, 31), [w]); // last month

    expect(granted(await budgets.reserve([request([sender], { recipient: x }), request([sender], { recipient: w })]))).toBe(2);
    await commitAttempts(userId, sender.id, clock.now, [x, w]);
    await deleteBudgetKeys(prefix, "month");

    const nextMonth = Date.UTC(2030, 1, 1);
    expect(await budgets.reserve([request([sender], { recipient: z }), request([sender], { recipient: y })])).toEqual([
      { kind: "wait", reason: "monthly_cap", retryAt: nextMonth },
      { kind: "granted", senderId: sender.id },
    ]);
  });

  it("a daily cap removed and set again counts the attempts made while it was off", async () => {
    const { clock, budgets } = setup();
    const { userId, sender } = await fleetSender({ dailyCap: 10, monthlyUniqueCap: null });
    const uncapped = { ...sender, dailyCap: null };
    let n = 0;
    for (const s of [sender, sender, uncapped, uncapped, uncapped]) {
      expect(await budgets.reserve([request([s])])).toEqual([{ kind: "granted", senderId: sender.id }]);
      await commitAttempts(userId, sender.id, clock.now, [`+155540000${n++}`]);
    }
    const recapped = { ...sender, dailyCap: 6 };
    expect(granted(await budgets.reserve(Array.from({ length: 3 }, () => request([recapped]))))).toBe(1);
  });

  it("after Redis loses everything, waits settleMs, then rebuilds and never overspends the daily cap", async () => {
    const settleMs = 5_000;
    const { clock, prefix, make } = setup({ settleMs });
    const [one, two] = [make(redis), make(other)];
    const { userId, sender } = await fleetSender({ dailyCap: 10, monthlyUniqueCap: null });
    const since = dayStart(clock.now);

    // First boot: nothing is granted until the settle ends.
    expect(await one.reserve([request([sender])])).toEqual([{ kind: "wait", reason: "rate_limited", retryAt: clock.now + settleMs }]);
    clock.advance(settleMs);
    for (let i = 0; i < 6; i++) {
      expect(await one.reserve([request([sender])])).toEqual([{ kind: "granted", senderId: sender.id }]);
      await commitAttempts(userId, sender.id, clock.now, [`+1555300000${i}`]);
      clock.advance(1_000);
    }
    // A seventh is granted, but its claim has not committed when Redis is flushed.
    expect(await two.reserve([request([sender])])).toEqual([{ kind: "granted", senderId: sender.id }]);
    await deleteKeysByPrefix(env.redisUrl, prefix);

    const settleEnd = clock.now + settleMs;
    expect(await one.reserve([request([sender])])).toEqual([{ kind: "wait", reason: "rate_limited", retryAt: settleEnd }]);
    await commitAttempts(userId, sender.id, clock.now, ["+15553000007"]); // the claim commits within the settle
    clock.advance(settleMs / 2);
    // The other replica sees the same settle end: the sentinel is set once.
    expect(await two.reserve([request([sender])])).toEqual([{ kind: "wait", reason: "rate_limited", retryAt: settleEnd }]);

    // Both replicas rebuild at once: 7 spent, so exactly 3 more between them.
    clock.now = settleEnd;
    const [a, b] = await Promise.all([
      one.reserve(Array.from({ length: 5 }, () => request([sender]))),
      two.reserve(Array.from({ length: 5 }, () => request([sender]))),
    ]);
    const more = granted(a) + granted(b);
    expect(more).toBe(3);
    await commitAttempts(userId, sender.id, clock.now, Array.from({ length: more }, (_, i) => `+1555300010${i}`));
    expect(await attemptsSince(sender.id, since)).toBe(10);
    expect(await one.reserve([request([sender])])).toEqual([{ kind: "wait", reason: "daily_cap", retryAt: since + 24 * HOUR }]);
  });
});
