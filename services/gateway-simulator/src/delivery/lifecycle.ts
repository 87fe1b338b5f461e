import { WEBHOOK_EVENTS } from "@inboxerr/gateway";
import type { MessageStateName, MessageStore, StoredMessage } from "../messages/store";
import type { SimulatorInstruments } from "../prometheus";
import type { Emit } from "./emitter";
import { fateOf, type Fate } from "./fate";
import { phoneTimestamp } from "./timestamps";

export type LifecycleOptions = {
  /** Time from accepted to sent, and again from sent to delivered/failed. */
  latencyMs: number;
  failureRate: number;
  seed: string;
  utcOffsetMinutes: number;
  emit: Emit;
  store: MessageStore;
  metrics: SimulatorInstruments;
};

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Plays out what the phone would do with an accepted message: after latencyMs it is sent
 * (`sms:sent` with partsCount, per recipient); after latencyMs more its fate (a function of
 * seed and id) shows: one `sms:delivered` per part, or one `sms:failed` with a reason.
 * A message whose validUntil passed before sending fails with "TTL expired" and is never sent.
 */
export function createLifecycle(opts: LifecycleOptions) {
  const timers = new Set<NodeJS.Timeout>();

  function later(fn: () => void, delayMs = opts.latencyMs): void {
    // setTimeout fires at once for a delay over 2^31 - 1 ms (~24.8 days): a scheduleAt a
    // month out would be sent immediately. Longer waits go in steps.
    const step = Math.min(delayMs, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (delayMs > step) later(fn, delayMs - step);
      else fn();
    }, step);
    timers.add(timer);
  }

  const at = (ms: number) => phoneTimestamp(ms, opts.utcOffsetMinutes);

  function mark(msg: StoredMessage, state: MessageStateName, now: number): void {
    msg.state = state;
    msg.states[state] = now;
  }

  // phoneNumber is the older name for the other party; newer apps add sender/recipient.
  const base = (msg: StoredMessage, phoneNumber: string) => ({
    messageId: msg.id,
    phoneNumber,
    sender: null,
    recipient: phoneNumber,
    simNumber: msg.simNumber,
  });

  function send(msg: StoredMessage): void {
    const now = Date.now();
    if (msg.validUntil !== null && now > msg.validUntil) return fail(msg, "TTL expired", now);
    mark(msg, "Processed", now);
    mark(msg, "Sent", now);
    for (const r of msg.recipients) {
      r.state = "Sent";
      opts.emit(WEBHOOK_EVENTS.smsSent, msg.deviceId, { ...base(msg, r.phoneNumber), partsCount: msg.partsCount, sentAt: at(now) });
    }
    const fate = fateOf(opts.seed, msg.id, opts.failureRate);
    later(() => settle(msg, fate));
  }

  function settle(msg: StoredMessage, fate: Fate): void {
    const now = Date.now();
    if (fate.outcome === "failed") return fail(msg, fate.reason ?? "Unknown", now);
    record("delivered");
    // Without a delivery report the phone never learns of delivery: the message stays Sent.
    if (!msg.withDeliveryReport) return;
    mark(msg, "Delivered", now);
    for (const r of msg.recipients) {
      r.state = "Delivered";
      for (let part = 0; part < msg.partsCount; part += 1) {
        opts.emit(WEBHOOK_EVENTS.smsDelivered, msg.deviceId, { ...base(msg, r.phoneNumber), deliveredAt: at(now) });
      }
    }
  }

  function fail(msg: StoredMessage, reason: string, now: number): void {
    record("failed");
    mark(msg, "Failed", now);
    for (const r of msg.recipients) {
      r.state = "Failed";
      r.error = reason;
      opts.emit(WEBHOOK_EVENTS.smsFailed, msg.deviceId, { ...base(msg, r.phoneNumber), failedAt: at(now), reason });
    }
  }

  function record(outcome: "delivered" | "failed"): void {
    opts.store.recordOutcome(outcome);
    opts.metrics.outcomes.inc({ outcome });
  }

  return {
    /** `delayMs` postpones sending further, for a `scheduleAt` in the future. */
    start(msg: StoredMessage, delayMs = 0): void {
      later(() => send(msg), opts.latencyMs + Math.max(0, delayMs));
    },
    /** Messages accepted but not yet settled (each holds one timer). */
    scheduled: () => timers.size,
    clear(): void {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
