// The contract between routing (route/router.ts) and the Redis budgets (route/budgets.ts), ADR 0019.

/** What the budgets need to know of a sender; null = no limit of that kind. */
export type BudgetSender = {
  id: string;
  accountId: string;
  ratePerMinute: number | null;
  dailyCap: number | null;
  monthlyUniqueCap: number | null;
};

export type BudgetRequest = {
  messageId: string;
  /** E.164; the monthly budget counts distinct recipients. */
  recipient: string;
  /** The senders this message may use, in preference order; never empty. */
  candidates: BudgetSender[];
  /** candidates[0] wins whenever it has budget (pinned: the only one; sticky: the last sender). */
  preferFirst: boolean;
};

export type WaitReason = "rate_limited" | "daily_cap" | "monthly_cap";

export type BudgetDecision =
  /** Spend it now: rate token, daily count and (if new this month) the recipient are taken. */
  | { kind: "granted"; senderId: string }
  /**
   * No budget now. `retryAt` (epoch ms, by the budgets' clock) is when it may free up: the
   * booked slot when `bookedSenderId` is set (that sender's daily/monthly budget is already
   * taken for this message, and a reserve for the same message at or after retryAt grants it
   * without spending again), else the next token, the next UTC day or month.
   */
  | { kind: "wait"; reason: WaitReason; retryAt: number; bookedSenderId?: string };

export type Budgets = {
  /** One decision per request, in order; atomic across replicas. Rebuilds lost keys from Postgres first. */
  reserve(requests: readonly BudgetRequest[]): Promise<BudgetDecision[]>;
  /** Gives back what `granted` took, for claims that did not commit. */
  release(grants: readonly { messageId: string; senderId: string; recipient: string }[]): Promise<void>;
  /** The account answered 429/503: none of its senders is granted for `ms`. */
  throttleAccount(accountId: string, ms: number): Promise<void>;
};
