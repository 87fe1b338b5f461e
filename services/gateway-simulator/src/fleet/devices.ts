import { createHash, createHmac } from "node:crypto";

/** What a device or SIM did; `failed` includes `limitFailed` (the carrier's daily limit). */
export type SendCounts = { sends: number; delivered: number; failed: number; limitFailed: number };

export type Sim = {
  /** Zero-based physical slot, as SMS Gate reports it. */
  slotIndex: number;
  /** One-based, what a send's `simNumber` names. */
  simNumber: number;
  phoneNumber: string;
  carrierName: string;
  /** Carrier daily limit (POST /simulator/sims/limit); null = none. */
  dailyLimit: number | null;
  /** The phone's calendar day (days since epoch, in its UTC offset) `usedToday` counts for. */
  day: number;
  usedToday: number;
  counts: SendCounts;
};

export type Device = {
  id: string;
  name: string;
  createdAt: number;
  online: boolean;
  /** When it went offline: `lastSeen` freezes there. Null while online. */
  offlineSince: number | null;
  /**
   * Offline, but the phone took its messages before it went dark (`{"fetched": true}`): what
   * it holds is Processed at the server, so a cancel meets 409. False while online.
   */
  fetched: boolean;
  sims: Sim[];
  counts: SendCounts;
};

const CARRIERS = ["Simtel", "Mockfone", "Testcom"] as const;

export const zeroCounts = (): SendCounts => ({ sends: 0, delivered: 0, failed: 0, limitFailed: 0 });

const digestOf = (seed: string, what: string) => createHmac("sha256", seed).update(what, "utf8").digest();

/**
 * The account's phones. Ids, names and numbers derive from (seed, username, index), so a
 * restart shows the same fleet and a sync upserts instead of duplicating. The primary
 * account's first device keeps part 1's id (or the pinned SMSGATE_DEVICE_ID).
 */
export function createDevices(opts: {
  seed: string;
  username: string;
  count: number;
  simsPerDevice: number;
  now: number;
  /** The first device's id, when pinned. */
  firstId?: string;
}): Device[] {
  return Array.from({ length: opts.count }, (_, i) => {
    const id =
      i === 0 && opts.firstId
        ? opts.firstId
        : digestOf(opts.seed, `device:${opts.username}:${i}`).toString("base64url").slice(0, 21);
    const sims = Array.from({ length: opts.simsPerDevice }, (_, slot): Sim => {
      // 7 digits after a +1 555 prefix: fictional, valid E.164, stable per (account, device, slot).
      const digits = String(digestOf(opts.seed, `sim:${opts.username}:${i}:${slot}`).readUInt32BE(0) % 10_000_000).padStart(7, "0");
      return {
        slotIndex: slot,
        simNumber: slot + 1,
        phoneNumber: `+1555${digits}`,
        carrierName: CARRIERS[(i + slot) % CARRIERS.length] ?? CARRIERS[0],
        dailyLimit: null,
        day: 0,
        usedToday: 0,
        counts: zeroCounts(),
      };
    });
    return { id, name: `Simulated phone ${i + 1}`, createdAt: opts.now, online: true, offlineSince: null, fetched: false, sims, counts: zeroCounts() };
  });
}

/** Part 1's default device id, kept so existing setups see the same phone. */
export const legacyDeviceId = (seed: string) => digestOf(seed, "device").toString("base64url").slice(0, 21);

const idHash = (messageId: string) => createHash("sha256").update(messageId, "utf8").digest();

/**
 * The device a send without `deviceId` goes to: a stable hash of the message id, so a retry
 * of the same id reaches the same device (online or not) and meets its 409.
 */
export function pickDevice(devices: Device[], messageId: string): Device {
  return devices[idHash(messageId).readUInt32BE(0) % devices.length] as Device;
}

/**
 * The SIM a send uses: the one `simNumber` names, or one picked by the same stable hash. A
 * number the phone lacks falls back to its first (default) SIM, as part 1 accepted any 1..3.
 */
export function simOf(device: Device, simNumber: number | null, messageId: string): Sim {
  if (simNumber === null) return device.sims[idHash(messageId).readUInt32BE(4) % device.sims.length] as Sim;
  return device.sims.find((s) => s.simNumber === simNumber) ?? (device.sims[0] as Sim);
}

/**
 * Spends one of the SIM's sends for the phone's day `day`; false once the carrier's daily
 * limit is used up (the usage restarts on a new day).
 */
export function takeDailyBudget(sim: Sim, day: number): boolean {
  if (sim.day !== day) {
    sim.day = day;
    sim.usedToday = 0;
  }
  if (sim.dailyLimit !== null && sim.usedToday >= sim.dailyLimit) return false;
  sim.usedToday += 1;
  return true;
}

export type DeviceDto = ReturnType<typeof toDeviceDto>;

/**
 * SMS Gate's `smsgateway.Device` body (GET /devices). Its `simCards` carry `slotIndex`
 * (0-based), `simNumber` (1-based, what a send names), `phoneNumber` and `carrierName`.
 */
export function toDeviceDto(device: Device, now: number) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: device.id,
    name: device.name,
    createdAt: iso(device.createdAt),
    updatedAt: iso(device.createdAt),
    lastSeen: iso(device.offlineSince ?? now),
    simCards: device.sims.map((s) => ({
      slotIndex: s.slotIndex,
      simNumber: s.simNumber,
      phoneNumber: s.phoneNumber,
      carrierName: s.carrierName,
    })),
  };
}
