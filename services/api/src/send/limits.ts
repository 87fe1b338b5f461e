/** Most recipients one bulk request may carry (README "HTTP API"). */
export const MAX_BULK_RECIPIENTS = 10_000;

/**
 * Longest message we accept, in SMS segments: 10 segments is 1,530 GSM-7 characters or 670
 * UCS-2 code units. Carriers and phones reassemble longer concatenations unreliably, and
 * each segment is billed, so a runaway template should fail loudly (`text_too_long`).
 */
export const MAX_SEGMENTS = 10;

/**
 * The longest text that can fit in MAX_SEGMENTS, in UTF-16 code units: 10 x 153 GSM-7
 * septets (each GSM-7 character is one code unit and at least one septet; UCS-2 allows only
 * 670). Anything longer is `text_too_long` without counting segments.
 */
export const MAX_TEXT_CHARS = MAX_SEGMENTS * 153;

/**
 * Longest `text` a request may carry (400 beyond): MAX_TEXT_CHARS plus room for placeholders
 * that render shorter than they are written (100 of `{{first_name}}` rendering as "Al" need
 * 1,200 more). A template longer than this cannot be a sensible SMS, and refusing it up front
 * bounds the per-recipient work of a bulk: a 4 MB template once held the event loop ~56 s.
 */
export const MAX_TEMPLATE_CHARS = 4_096;

/** Placeholders one template may hold, repeats included. */
export const MAX_PLACEHOLDERS = 100;

/** Variables one bulk recipient may carry, and the longest name and value of one. */
export const MAX_VARIABLES = 100;
export const MAX_VARIABLE_NAME_CHARS = 64;
export const MAX_VARIABLE_VALUE_CHARS = MAX_TEXT_CHARS;

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
