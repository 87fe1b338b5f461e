import { createHmac } from "node:crypto";

export type Fate = { outcome: "delivered" | "failed"; reason: string | null };

/** Reasons a real phone reports (Android SmsManager result codes). */
const FAILURE_REASONS = [
  "RESULT_ERROR_GENERIC_FAILURE",
  "RESULT_ERROR_NO_SERVICE",
  "RESULT_ERROR_RADIO_OFF",
  "RESULT_RIL_MODEM_ERR",
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
