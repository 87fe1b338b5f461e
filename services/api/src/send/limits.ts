/** Most recipients one bulk request may carry (DESIGN.md). */
export const MAX_BULK_RECIPIENTS = 10_000;

/**
 * Longest message we accept, in SMS segments: 10 segments is 1,530 GSM-7 characters or 670
 * UCS-2 code units. Carriers and phones reassemble longer concatenations unreliably, and
 * each segment is billed, so a runaway template should fail loudly (`text_too_long`).
 */
export const MAX_SEGMENTS = 10;

/** Rows per INSERT: one `unnest` statement each, so bind parameters stay constant per chunk. */
export const INSERT_CHUNK = 5_000;

/** Jobs per BullMQ addBulk call: one MULTI each, small enough not to stall Redis for others. */
export const ENQUEUE_CHUNK = 1_000;

/**
 * addBulk calls one bulk keeps in flight: two overlap the client's serialising with Redis's
 * work; more only multiply the command state held in memory until Redis answers.
 */
export const ENQUEUE_IN_FLIGHT = 2;

/** An enqueue that has not finished by then is abandoned: the sweeper owns those rows. */
export const ENQUEUE_TIMEOUT_MS = 2_000;

/**
 * Bulk requests one api process works on at once; more wait their turn (never rejected). A
 * 10,000-recipient bulk makes ~190 MB of short-lived garbage, so this bounds memory under
 * concurrent bulks; two keep the CPU busy while one of them waits on Postgres or Redis.
 */
export const BULK_CONCURRENCY = 2;
