import { createHmac } from "node:crypto";

export type Fate = { outcome: "delivered" | "failed"; reason: string | null };

/**
 * Reasons a real phone reports for a message that failed after `sms:sent` (Android SmsManager
 * result codes that can follow a transmission). Never one of the pre-transmission codes
 * (NO_SERVICE, RADIO_OFF, LIMIT_EXCEEDED, NULL_PDU): a phone reports those instead of sending,
 * and Inboxerr answers them with a new attempt, so reporting one after `sms:sent` would make
 * the simulator ask for a second send of an SMS it already sent. A webhook retried out of order
 * (the failure arriving before the `sms:sent` it followed) did exactly that in the chaos test.
 */
export const FAILURE_REASONS = [
  "RESULT_ERROR_GENERIC_FAILURE",
  "RESULT_RIL_MODEM_ERR",
  "RESULT_RIL_NETWORK_REJECT",
  "RESULT_NETWORK_ERROR",
] as const;

/**
 * A uniform number in [0, 1) that depends only on (seed, id): HMAC-SHA256 keyed by the seed,
 * its first 48 bits as a fraction. Concurrency and arrival order cannot change it.
 */
export function uniformOf(seed: string, id: string): number {
  const digest = createHmac("sha256", seed).update(id, "utf8").digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** Whether a message ends delivered or failed, and why; a pure function of its inputs. */
export function fateOf(seed: string, id: string, failureRate: number): Fate {
  if (uniformOf(seed, id) >= failureRate) return { outcome: "delivered", reason: null };
  // A second, independent draw picks the reason, so the reason mix does not skew by rate.
  const pick = Math.floor(uniformOf(seed, `${id}#reason`) * FAILURE_REASONS.length);
  return { outcome: "failed", reason: FAILURE_REASONS[pick] ?? FAILURE_REASONS[0] };
}
