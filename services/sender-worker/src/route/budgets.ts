import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { DbHandle } from "@inboxerr/db";
import { dayKey, rebuildBudgetKeys, type MissingKey } from "./budget-rebuild";
import { DECIDE_SCRIPT, RELEASE_SCRIPT } from "./budget-script";
import type { BudgetDecision, BudgetRequest, Budgets, BudgetSender, WaitReason } from "./budget-types";

export type BudgetsOptions = {
  redis: Redis;
  pool: DbHandle["pool"];
  /** QUEUE_PREFIX: keys live under `<prefix>:budget:{fleet}:`. */
  prefix: string;
  /** Epoch ms; days and months are UTC by it. */
  clock?: () => number;
  /** How long routing waits after Redis lost everything before rebuilding (ADR 0019). */
  settleMs?: number;
  /** The furthest ahead a rate slot is booked. */
  maxBookAheadMs?: number;
};

const DAY_MS = 86_400_000;
/** A booking outlives its horizon by this much, for a job that runs late. */
const BOOKING_SLACK_MS = 5 * 60_000;
/** Rebuild rounds before giving up: each one only repeats when keys vanish again meanwhile. */
const MAX_REBUILDS = 3;
/** Grants remembered for release(): a claim that does not commit releases within seconds. */
const MAX_REMEMBERED_GRANTS = 20_000;

const WAIT_REASONS: Record<number, WaitReason> = { 1: "rate_limited", 2: "daily_cap", 3: "monthly_cap" };

type Grant = { rateKey: string; intervalMs: number; dayKey: string };

/**
 * Per-sender carrier budgets in Redis (ADR 0019 "Budgets"): one Lua script per reserve() call
 * decides the whole batch atomically across replicas; lost keys are rebuilt from attempt rows.
 *
 * release() gives back the rate token and the daily count of grants made by this instance
 * (the one whose claim failed); a grant it does not remember is not refunded, which can only
 * under-spend. The recipient stays in the month's set: another message to the same number
 * may have been granted for free meanwhile, and removing it could overspend.
 */
export function createBudgets(opts: BudgetsOptions): Budgets {
  const { redis, pool } = opts;
  const clock = opts.clock ?? Date.now;
  const settleMs = opts.settleMs ?? 5_000;
  const maxBookAheadMs = opts.maxBookAheadMs ?? 600_000;
  const base = `${opts.prefix}:budget:{fleet}`;
  const grants = new Map<string, Grant>();

  function remember(messageId: string, senderId: string, grant: Grant): void {
    grants.set(`${messageId}|${senderId}`, grant);
    if (grants.size > MAX_REMEMBERED_GRANTS) grants.delete(grants.keys().next().value!);
  }

  async function reserve(requests: readonly BudgetRequest[]): Promise<BudgetDecision[]> {
    if (requests.length === 0) return [];
    const senders: BudgetSender[] = [];
    const index = new Map<string, number>();
    const encoded = requests.map((r) => {
      if (r.candidates.length === 0) throw new Error(`budgets: message ${r.messageId} has no candidates`);
      const cands = r.candidates.map((s) => {
        let i = index.get(s.id);
        if (i === undefined) {
          senders.push(s);
          i = senders.length; // 1-based, as Lua indexes
          index.set(s.id, i);
        }
        return i;
      });
      return [r.messageId, r.recipient, r.preferFirst ? 1 : 0, cands];
    });

    for (let round = 0; ; round++) {
      const now = clock();
      const t = utcBounds(now);
      const input = JSON.stringify({
        now,
        day: t.day,
        month: t.month,
        nextDay: t.dayStart + DAY_MS,
        nextMonth: t.nextMonth,
        settleMs,
        horizon: maxBookAheadMs,
        bookTtl: maxBookAheadMs + BOOKING_SLACK_MS,
        senders: senders.map((s) => [s.id, s.accountId, s.ratePerMinute ?? -1, s.dailyCap ?? -1, s.monthlyUniqueCap ?? -1]),
        requests: encoded,
      });
      const reply = (await runScript(redis, DECIDE_SCRIPT, base, [input])) as (string | number)[];
      const kind = Number(reply[0]);
      if (kind === 1) {
        // Settling after a loss: nobody is granted until reservations made before it have committed.
        const retryAt = Number(reply[1]);
        return requests.map(() => ({ kind: "wait", reason: "rate_limited", retryAt }));
      }
      const genBase = `${base}:${String(reply[1])}`;
      if (kind === 2) {
        if (round >= MAX_REBUILDS) throw new Error("budgets: keys keep vanishing while being rebuilt");
        const missing: MissingKey[] = [];
        for (let i = 2; i < reply.length; i += 2) missing.push({ senderId: String(reply[i]), kind: reply[i + 1] as MissingKey["kind"] });
        await rebuildBudgetKeys(redis, pool, { genBase, day: t.day, month: t.month, dayStart: t.dayStart, monthStart: t.monthStart }, missing);
        continue;
      }
      return requests.map((r, i) => {
        const code = Number(reply[2 + 3 * i]);
        const sender = senders[Number(reply[3 + 3 * i]) - 1];
        const third = reply[4 + 3 * i]!;
        if (code === 0) {
          const s = sender!;
          remember(r.messageId, s.id, {
            rateKey: `${genBase}:rate:${s.id}`,
            intervalMs: s.ratePerMinute ? 60_000 / s.ratePerMinute : 0,
            dayKey: dayKey(genBase, String(third), s.id),
          });
          return { kind: "granted", senderId: s.id };
        }
        if (code === 4) return { kind: "wait", reason: "rate_limited", retryAt: Number(third), bookedSenderId: sender!.id };
        return { kind: "wait", reason: WAIT_REASONS[code]!, retryAt: Number(third) };
      });
    }
  }

  async function release(list: readonly { messageId: string; senderId: string; recipient: string }[]): Promise<void> {
    const args: (string | number)[] = [clock()];
    for (const g of list) {
      const key = `${g.messageId}|${g.senderId}`;
      const grant = grants.get(key);
      if (!grant) continue;
      grants.delete(key);
      args.push(grant.rateKey, grant.intervalMs, grant.dayKey);
    }
    if (args.length > 1) await runScript(redis, RELEASE_SCRIPT, base, args);
  }

  async function throttleAccount(accountId: string, ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms <= 0) return;
    const ttl = Math.ceil(ms);
    // The value is the end by our clock (what the script compares); the TTL cleans it up.
    await redis.set(`${base}:throttle:${accountId}`, clock() + ttl, "PX", ttl);
  }

  return { reserve, release, throttleAccount };
}

/** UTC day and month of `now`, as key parts and bounds. */
function utcBounds(now: number) {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const dayStart = Date.UTC(y, m, d.getUTCDate());
  return {
    day: new Date(dayStart).toISOString().slice(0, 10),
    month: new Date(dayStart).toISOString().slice(0, 7),
    dayStart,
    monthStart: Date.UTC(y, m, 1),
    nextMonth: Date.UTC(y, m + 1, 1),
  };
}

const shas = new Map<string, string>();

/** EVALSHA, falling back to EVAL once when the server does not have the script (a restart, a flush). */
async function runScript(redis: Redis, script: string, key: string, args: (string | number)[]): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script).digest("hex");
    shas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, 1, key, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return await redis.eval(script, 1, key, ...args);
  }
}
