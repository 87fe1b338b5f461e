import type { Device, SendCounts, Sim } from "../fleet/devices";

/** SMS Gate processing states, as the API spells them. */
export type MessageStateName = "Pending" | "Processed" | "Sent" | "Delivered" | "Failed" | "Cancelled";

type RecipientState = { phoneNumber: string; state: MessageStateName; error?: string };

/** Kept small (epoch-ms numbers, no ISO strings): a benchmark stores tens of thousands. */
export type StoredMessage = {
  id: string;
  deviceId: string;
  state: MessageStateName;
  isEncrypted: boolean;
  recipients: RecipientState[];
  /** State name → epoch ms it was reached. */
  states: Partial<Record<MessageStateName, number>>;
  createdAt: number;
  partsCount: number;
  simNumber: number | null;
  withDeliveryReport: boolean;
  /** Epoch ms after which the phone would no longer send it, or null. */
  validUntil: number | null;
  /** Send requests that got 202 or 409 for this (device, id). */
  sends: number;
  /** The phone and SIM it went to (the SIM actually used, even when the send named none). */
  device: Device;
  sim: Sim;
};

/**
 * `GET /simulator/stats`. `totalSends` counts 202 answers; `duplicates` counts 409 answers;
 * `sendsById[id]` counts every send request for that id that got a 202 or a 409 (so a value
 * above 1 means the id reached the gateway more than once). Throttled (429/503), invalid (400)
 * and unauthenticated (401) requests are counted nowhere. `outcomes` counts messages whose
 * fate has played out: delivered (every part) or failed.
 */
export type SimulatorStats = {
  totalSends: number;
  duplicates: number;
  sendsById: Record<string, number>;
  outcomes: { delivered: number; failed: number };
  /** Per device of the account, with its SIMs by simNumber; `failed` includes `limitFailed`. */
  devices: Record<string, SendCounts & { sims: Record<string, SendCounts> }>;
};

/**
 * Messages the simulated gateway holds. Ids are unique per device, as on SMS Gate. Memory is
 * bounded (about 0.4 KB a message): beyond `maxMessages` the oldest is forgotten, which means
 * 404 on GET, a re-send of its id accepted again, and its `sendsById` entry gone.
 */
export function createMessageStore(opts: { maxMessages: number; devices: () => Device[] }) {
  // The latest message per id; the same id on another device (rare) moves to `elsewhere`.
  const byId = new Map<string, StoredMessage>();
  const elsewhere = new Map<string, StoredMessage>();
  let totalSends = 0;
  let duplicates = 0;
  const outcomes = { delivered: 0, failed: 0 };

  const key = (deviceId: string, id: string) => `${deviceId}\u0000${id}`;
  const find = (deviceId: string, id: string) => {
    const latest = byId.get(id);
    return latest?.deviceId === deviceId ? latest : elsewhere.get(key(deviceId, id));
  };

  function evictOldest(): void {
    const from = elsewhere.size > 0 ? elsewhere : byId;
    const oldest = from.keys().next();
    if (!oldest.done) from.delete(oldest.value);
  }

  return {
    exists: (deviceId: string, id: string) => find(deviceId, id) !== undefined,
    get: (id: string) => byId.get(id),
    /** Every message the store still holds for `device`, its own and those of ids reused elsewhere. */
    *onDevice(device: Device): Iterable<StoredMessage> {
      for (const m of byId.values()) if (m.device === device) yield m;
      for (const m of elsewhere.values()) if (m.device === device) yield m;
    },
    accept(msg: StoredMessage): void {
      const other = byId.get(msg.id);
      if (other) elsewhere.set(key(other.deviceId, other.id), other);
      byId.set(msg.id, msg);
      totalSends += 1;
      while (byId.size + elsewhere.size > opts.maxMessages) evictOldest();
    },
    recordDuplicate(deviceId: string, id: string): void {
      duplicates += 1;
      const msg = find(deviceId, id);
      if (msg) msg.sends += 1;
    },
    recordOutcome(outcome: "delivered" | "failed"): void {
      outcomes[outcome] += 1;
    },
    stats(): SimulatorStats {
      // A Map, then own properties: an id such as "__proto__" stays a key instead of a prototype.
      const sends = new Map<string, number>();
      for (const m of byId.values()) sends.set(m.id, m.sends);
      for (const m of elsewhere.values()) sends.set(m.id, (sends.get(m.id) ?? 0) + m.sends);
      const devices = Object.fromEntries(
        opts.devices().map((d) => [d.id, { ...d.counts, sims: Object.fromEntries(d.sims.map((sim) => [sim.simNumber, { ...sim.counts }])) }]),
      );
      return { totalSends, duplicates, sendsById: Object.fromEntries(sends), outcomes: { ...outcomes }, devices };
    },
    reset(): void {
      byId.clear();
      elsewhere.clear();
      totalSends = 0;
      duplicates = 0;
      outcomes.delivered = 0;
      outcomes.failed = 0;
    },
  };
}

export type MessageStore = ReturnType<typeof createMessageStore>;
