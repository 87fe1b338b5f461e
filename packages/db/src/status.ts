/**
 * The message state machine (docs/architecture.md "Message states"). Pure: no database access, so the
 * API, workers and the status writer's SQL (status-writer/, generated from these tables) all
 * read the same rules.
 */
export const MESSAGE_STATUSES = [
  "scheduled",
  "queued",
  "sending",
  "accepted",
  "sent",
  "delivered",
  "failed",
  "cancelled",
  "expired",
] as const;

export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const TERMINAL_STATUSES = ["delivered", "failed", "cancelled", "expired"] as const satisfies readonly MessageStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export const NON_TERMINAL_STATUSES = ["scheduled", "queued", "sending", "accepted", "sent"] as const satisfies readonly MessageStatus[];

/**
 * The statuses with a `<status>_at` stamp column, set when the message enters the status.
 * `scheduled` has none: scheduled_at is the requested send time, not a transition stamp.
 */
export const STAMPED_STATUSES = MESSAGE_STATUSES.filter((s) => s !== "scheduled");

/**
 * Entering this status counts one send attempt (`messages.attempts`): the sender moves a
 * message to it right before it calls the gateway.
 */
export const ATTEMPT_STATUS = "sending" satisfies MessageStatus;

/** Progress ranks; only the statuses on the main path have one. */
export const STATUS_RANK = {
  scheduled: 0,
  queued: 0,
  sending: 1,
  accepted: 2,
  sent: 3,
  delivered: 4,
} as const satisfies Partial<Record<MessageStatus, number>>;

export function isMessageStatus(value: unknown): value is MessageStatus {
  return typeof value === "string" && (MESSAGE_STATUSES as readonly string[]).includes(value);
}

export function isTerminalStatus(status: MessageStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * Whether a message in `from` may move to `to`. Moves go strictly forward by rank (skips
 * allowed: a delivery report can overtake the sent report); `failed` may follow any
 * non-terminal status; `cancelled` only from scheduled|queued; `expired` only before the
 * gateway has it (scheduled|queued|sending). Nothing leaves a terminal status.
 */
export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  if (from === to || isTerminalStatus(from)) return false;
  switch (to) {
    case "failed":
      return true;
    case "cancelled":
      return from === "scheduled" || from === "queued";
    case "expired":
      return from === "scheduled" || from === "queued" || from === "sending";
  }
  // The one same-rank move, one-way (ADR 0003). No service makes it today: the sender claims a
  // due scheduled message straight into sending, and the sweeper re-enqueues it without a move.
  if (from === "scheduled" && to === "queued") return true;
  return STATUS_RANK[to] > STATUS_RANK[from];
}

/** Every allowed (from, to) pair: the single table both canTransition callers and SQL use. */
export const TRANSITIONS: readonly (readonly [from: MessageStatus, to: MessageStatus])[] = MESSAGE_STATUSES.flatMap(
  (from) => MESSAGE_STATUSES.filter((to) => canTransition(from, to)).map((to) => [from, to] as const),
);

/** The statuses a message may be in for a move to `to` to apply. */
export function allowedFrom(to: MessageStatus): MessageStatus[] {
  return TRANSITIONS.filter(([, t]) => t === to).map(([from]) => from);
}

// The statuses strictly between the two ends of the main path, in rank order.
const STEPS = ["sending", "accepted", "sent"] as const satisfies readonly MessageStatus[];

/**
 * The statuses a forward move from `from` to `to` skipped, which reaching `to` implies were
 * reached: `accepted → delivered` implies `sent`, `sending → sent` implies `accepted`. Only a
 * move along the main path implies anything: `failed` may come straight from `queued` (the
 * gateway refused it, retries ran out), so it says nothing about sent or accepted, and
 * `cancelled`/`expired` leave the path. The monotone funnel (accepted ≥ sent ≥ delivered)
 * counts these; the timeline shows them as implied steps.
 */
export function skippedStatuses(from: MessageStatus, to: MessageStatus): MessageStatus[] {
  if (!(from in STATUS_RANK) || !(to in STATUS_RANK)) return [];
  const lo = STATUS_RANK[from as keyof typeof STATUS_RANK];
  const hi = STATUS_RANK[to as keyof typeof STATUS_RANK];
  return STEPS.filter((s) => STATUS_RANK[s] > lo && STATUS_RANK[s] < hi);
}
