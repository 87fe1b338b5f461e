/**
 * What a failed attempt's reason means for the next one. The table of phone reasons that
 * happen before transmission is the gateway's (packages/gateway/src/failure-reasons.ts); the
 * number of attempts is ours.
 */
export { isPreTransmissionFailure, PRE_TRANSMISSION_FAILURES, type PreTransmissionFailure } from "@inboxerr/gateway";

/** SEND_MAX_ATTEMPTS' default: attempts (gateway ids) per message, the first included. */
export const DEFAULT_SEND_MAX_ATTEMPTS = 3;
