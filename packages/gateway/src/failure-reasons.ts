/**
 * When a failed attempt provably never left the phone, so a new attempt (new id, maybe another
 * sender) cannot send the SMS twice (DESIGN-2.md "At most once, with a fleet"). The one table
 * of such reasons: every writer that decides whether to try again reads it, and the simulator
 * never reports one after `sms:sent`.
 *
 * These are Android SmsManager results the phone reports before the radio transmitted
 * anything. Anything else a phone reports (generic failure, a delivery report's failure) may
 * follow a transmission and is final.
 */
export const PRE_TRANSMISSION_FAILURES = [
  // The carrier's or Android's sending limit: the SMS was never handed to the radio.
  "RESULT_ERROR_LIMIT_EXCEEDED",
  // No network service: nothing could be transmitted.
  "RESULT_ERROR_NO_SERVICE",
  // Radio off (airplane mode).
  "RESULT_ERROR_RADIO_OFF",
  // The PDU could not be built: nothing to transmit.
  "RESULT_ERROR_NULL_PDU",
] as const;

export type PreTransmissionFailure = (typeof PRE_TRANSMISSION_FAILURES)[number];

/**
 * Whether a phone's failure reason is one that happens before transmission. Gateways put the
 * code in free text ("RESULT_ERROR_LIMIT_EXCEEDED", "Failed: RESULT_ERROR_NO_SERVICE"), so the
 * code is looked for as a whole word anywhere in the reason.
 */
export function isPreTransmissionFailure(reason: string | null | undefined): boolean {
  if (!reason) return false;
  return PRE_TRANSMISSION_FAILURES.some((code) => new RegExp(`(^|[^A-Z_])${code}($|[^A-Z_])`).test(reason));
}
