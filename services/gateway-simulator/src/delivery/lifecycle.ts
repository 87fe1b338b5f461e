import { WEBHOOK_EVENTS } from "@inboxerr/gateway";
import { takeDailyBudget, type Device } from "../fleet/devices";
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
  /** Wall clock (epoch ms) that decides the phone's day for carrier daily limits. */
  clock: () => number;
  emit: Emit;
  store: MessageStore;
  metrics: SimulatorInstruments;
};

const MAX_TIMER_MS = 2 ** 31 - 1;
const DAY_MS = 86_400_000;

/** What Android reports when the carrier refuses more SMS (a failure before transmission). */
const LIMIT_EXCEEDED = "RESULT_ERROR_LIMIT_EXCEEDED";

/**
 * Plays out what the phone would do with an accepted message: after latencyMs it is sent
 * (`sms:sent` with partsCount, per recipient); after latencyMs more its fate (a function of
 * seed and id) shows: one `sms:delivered` per part, or one `sms:failed` with a reason.
 * A message whose validUntil passed before sending fails with "TTL expired" and is never sent;
 * one whose SIM used up its carrier daily limit fails with RESULT_ERROR_LIMIT_EXCEEDED. An
 * offline device holds its messages in Pending until it is back online; a Pending message can
 * be cancelled (`sms:cancelled`).
 */
export function createLifecycle(opts: LifecycleOptions) {
  const timers = new Set<NodeJS.Timeout>();
  // Messages whose send time came while their device was offline.
  const held = new Set<StoredMessage>();

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
    if (msg.state === "Cancelled") return;
    if (!msg.device.online) {
      held.add(msg);
      return;
    }
    const now = Date.now();
    if (msg.validUntil !== null && now > msg.validUntil) return fail(msg, "TTL expired", now);
    const day = Math.floor((opts.clock() + opts.utcOffsetMinutes * 60_000) / DAY_MS);
    if (!takeDailyBudget(msg.sim, day)) return fail(msg, LIMIT_EXCEEDED, now);
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
    record(msg, "delivered");
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
    record(msg, "failed");
    if (reason === LIMIT_EXCEEDED) {
      msg.device.counts.limitFailed += 1;
      msg.sim.counts.limitFailed += 1;
    }
    mark(msg, "Failed", now);
    for (const r of msg.recipients) {
      r.state = "Failed";
      r.error = reason;
      opts.emit(WEBHOOK_EVENTS.smsFailed, msg.deviceId, { ...base(msg, r.phoneNumber), failedAt: at(now), reason });
    }
  }

  function record(msg: StoredMessage, outcome: "delivered" | "failed"): void {
    opts.store.recordOutcome(outcome);
    msg.device.counts[outcome] += 1;
    msg.sim.counts[outcome] += 1;
    opts.metrics.outcomes.inc({ outcome });
  }

  return {
    /** `delayMs` postpones sending further, for a `scheduleAt` in the future. */
    start(msg: StoredMessage, delayMs = 0): void {
      later(() => send(msg), opts.latencyMs + Math.max(0, delayMs));
    },
    /**
     * `DELETE /messages/:id`: a Pending message (waiting, or held by an offline device) ends
     * Cancelled with one `sms:cancelled` per recipient; false when it had left Pending.
     */
    cancel(msg: StoredMessage): boolean {
      if (msg.state !== "Pending") return false;
      const now = Date.now();
      held.delete(msg);
      mark(msg, "Cancelled", now);
      for (const r of msg.recipients) {
        r.state = "Cancelled";
        opts.emit(WEBHOOK_EVENTS.smsCancelled, msg.deviceId, { ...base(msg, r.phoneNumber), cancelledAt: at(now) });
      }
      return true;
    },
    /** The device is back online: what it held is sent now, in arrival order. */
    resume(device: Device): void {
      for (const msg of held) {
        if (msg.device !== device) continue;
        held.delete(msg);
        send(msg);
      }
    },
    /** Messages accepted but not yet settled (each holds one timer); held ones not included. */
    scheduled: () => timers.size,
    /** Messages an offline device holds in Pending. */
    held: () => held.size,
    clear(): void {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      held.clear();
    },
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
