// Test-only helpers for the budgets tests: senders, requests, and a clock the test moves.
import { randomUUID } from "node:crypto";
import type { BudgetDecision, BudgetRequest, BudgetSender } from "./budget-types";

export const HOUR = 3_600_000;

/** A sender with no limits unless given some; fresh ids (no rows) unless given. */
export function budgetSender(overrides: Partial<BudgetSender> = {}): BudgetSender {
  return { id: randomUUID(), accountId: randomUUID(), ratePerMinute: null, dailyCap: null, monthlyUniqueCap: null, ...overrides };
}

let recipientSeq = 0;
/** A distinct E.164 recipient per call. */
const nextRecipient = () => `+1555${String(++recipientSeq).padStart(7, "0")}`;

export function request(candidates: BudgetSender[], overrides: Partial<BudgetRequest> = {}): BudgetRequest {
  return { messageId: randomUUID(), recipient: nextRecipient(), candidates, preferFirst: false, ...overrides };
}

/** A clock the test sets: starts mid-day on 15 January 2030, UTC. */
export function testClock(start = Date.UTC(2030, 0, 15, 12)) {
  const clock = { now: start, read: () => clock.now, advance: (ms: number) => (clock.now += ms) };
  return clock;
}

/** How many decisions went to each sender id (grants only). */
export function grantsBySender(decisions: readonly BudgetDecision[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of decisions) if (d.kind === "granted") out.set(d.senderId, (out.get(d.senderId) ?? 0) + 1);
  return out;
}

export const granted = (decisions: readonly BudgetDecision[]) => decisions.filter((d) => d.kind === "granted").length;
