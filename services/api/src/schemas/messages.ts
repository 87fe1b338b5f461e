import { z } from "zod";
import { ATTEMPT_STATUSES, WAITING_REASONS } from "@inboxerr/db";
import { countPlaceholders } from "@inboxerr/sms";
import {
  MAX_BULK_RECIPIENTS,
  MAX_PLACEHOLDERS,
  MAX_SEGMENTS,
  MAX_TEMPLATE_CHARS,
  MAX_VARIABLE_NAME_CHARS,
  MAX_VARIABLE_VALUE_CHARS,
  MAX_VARIABLES,
} from "../send/limits";
import { isoDateTime, MessageStatusSchema, nullableTimestamp, safeText } from "./common";

const phone = safeText().max(256).meta({
  description: "E.164 (`+14155550123`) or a national number read with the server's DEFAULT_PHONE_REGION",
  example: "+14155550123",
});
const textDescription = `GSM-7 or UCS-2 text; more than ${MAX_SEGMENTS} segments is rejected (text_too_long).`;

/**
 * Message text or template: at most MAX_TEMPLATE_CHARS and MAX_PLACEHOLDERS (400 beyond),
 * checked before any per-recipient work. The length check aborts, so the content checks
 * never scan an oversized string.
 */
const messageText = () =>
  safeText({ max: MAX_TEMPLATE_CHARS }).refine((s) => !s.includes("{{") || countPlaceholders(s) <= MAX_PLACEHOLDERS, {
      message: `must hold at most ${MAX_PLACEHOLDERS} {{placeholders}}`,
    });

const TOO_MANY_VARIABLES = `must hold at most ${MAX_VARIABLES} variables`;
const variables = z
  .record(
    z.string().max(MAX_VARIABLE_NAME_CHARS),
    z.union([safeText({ max: MAX_VARIABLE_VALUE_CHARS }), z.number()]),
  )
  .refine((v) => Object.keys(v).length <= MAX_VARIABLES, { message: TOO_MANY_VARIABLES });
const customId = safeText().min(1).max(128).meta({ description: "Your reference; unique per user" });
const priority = z
  .number()
  .int()
  .min(-128)
  .max(127)
  .default(0)
  .meta({ description: "Higher is sent first; >= 100 skips the phone's send limits (SMS Gate)" });

const from = safeText()
  .max(256)
  .meta({
    description:
      "Send through this sender only: its id, or its phone number (normalised like `to`). One of the senders you may " +
      "route through (your own if you have any not retired, else the shared ones); paused or offline, the messages wait for it. " +
      "422 with `errors[].code` `unknown_sender`, `sender_not_allowed`, `sender_retired` or `ambiguous_sender` (a number " +
      "several of your senders have: pass the id) stores nothing.",
    example: "+14155550100",
  });

/** The send window shared by single and bulk sends. */
const windowFields = {
  scheduledAt: isoDateTime().nullish().meta({ description: "Send at this time instead of now" }),
  validUntil: isoDateTime().nullish().meta({ description: "Give up (status `expired`) if not handed to the gateway by then" }),
  priority,
};

type Window = { scheduledAt?: string | null; validUntil?: string | null };

// A window that closes before it opens can never be sent; say so instead of storing a dud.
function checkWindow(value: Window, ctx: z.RefinementCtx): void {
  if (!value.validUntil) return;
  const until = Date.parse(value.validUntil);
  if (value.scheduledAt && until <= Date.parse(value.scheduledAt)) {
    ctx.addIssue({ code: "custom", path: ["validUntil"], message: "validUntil must be after scheduledAt" });
  } else if (until <= Date.now()) {
    ctx.addIssue({ code: "custom", path: ["validUntil"], message: "validUntil must be in the future" });
  }
}

export const SendMessageRequest = z
  .object({
    to: phone,
    text: messageText().min(1).meta({ description: textDescription, example: "Your code is 123456" }),
    customId: customId.optional(),
    from: from.optional(),
    ...windowFields,
  })
  .superRefine(checkWindow)
  .meta({ id: "SendMessageRequest" });

const BulkRecipientSchema = z
  .object({
    to: phone,
    text: messageText().optional().meta({ description: "This recipient's text; wins over the shared `text`" }),
    variables: variables
      .optional()
      .meta({ description: "Values for `{{name}}` placeholders", example: { name: "Ada" } }),
    customId: customId.optional(),
  })
  .meta({ id: "BulkRecipient" });

export const BulkSendRequest = z
  .object({
    messages: z.array(BulkRecipientSchema).min(1).max(MAX_BULK_RECIPIENTS),
    text: messageText()
      .optional()
      .meta({ description: "Shared template with `{{name}}` placeholders", example: "Hi {{name}}, your order shipped" }),
    from: from.optional().meta({ description: "One sender for every recipient of the request (see SendMessageRequest.from)" }),
    ...windowFields,
  })
  .superRefine(checkWindow)
  .meta({ id: "BulkSendRequest" });

// What BulkSendRequest checks besides each recipient: validated first, then the recipients in
// slices (parseBulkSendRequest). The docs keep the full schema above.
const BulkEnvelope = z
  .object({
    messages: z.array(z.unknown()).min(1).max(MAX_BULK_RECIPIENTS),
    text: messageText().optional(),
    from: from.optional(),
    ...windowFields,
  })
  .superRefine(checkWindow);

/**
 * Counted before zod sees them: z.record checks every key and value before its count refine
 * runs, and one recipient with ~800,000 variables still fits in a 5 MB body.
 */
function tooManyVariables(recipient: unknown): boolean {
  const vars = (recipient as { variables?: unknown } | null)?.variables;
  return vars !== null && typeof vars === "object" && Object.keys(vars).length > MAX_VARIABLES;
}

/** Recipients validated between two turns of the event loop: ~10 ms of zod work. */
const VALIDATE_SLICE = 500;

/**
 * BulkSendRequest.parse, without holding the event loop for the whole of a 10,000-recipient
 * request (~0.1 - 0.5 s in one piece): the same checks and the same issue paths, but the
 * recipients go in slices with a yield between them. Throws z.ZodError like parse.
 */
export async function parseBulkSendRequest(body: unknown): Promise<z.output<typeof BulkSendRequest>> {
  const envelope = BulkEnvelope.safeParse(body);
  const issues: z.core.$ZodIssue[] = envelope.success ? [] : [...envelope.error.issues];
  // Recipients are checked even when the envelope is not, so one answer names every problem.
  const listed = (body as { messages?: unknown } | null)?.messages;
  const raw = Array.isArray(listed) && listed.length <= MAX_BULK_RECIPIENTS ? (listed as unknown[]) : undefined;
  const messages = new Array<z.output<typeof BulkRecipientSchema>>(raw?.length ?? 0);
  for (let start = 0; raw && start < raw.length; start += VALIDATE_SLICE) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(start + VALIDATE_SLICE, raw.length);
    for (let i = start; i < end; i++) {
      if (tooManyVariables(raw[i])) {
        issues.push({ code: "custom", path: ["messages", i, "variables"], message: TOO_MANY_VARIABLES, input: undefined });
        continue;
      }
      const recipient = BulkRecipientSchema.safeParse(raw[i]);
      if (recipient.success) messages[i] = recipient.data;
      else for (const issue of recipient.error.issues) issues.push({ ...issue, path: ["messages", i, ...issue.path] });
    }
  }
  if (issues.length > 0 || !envelope.success) throw new z.ZodError(issues);
  return { ...envelope.data, messages };
}

const REJECT_CODES = ["invalid_phone", "missing_text", "missing_variable", "text_too_long", "duplicate_custom_id"] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

const RejectionSchema = z
  .object({ index: z.number().int(), to: z.string(), code: z.enum(REJECT_CODES), detail: z.string() })
  .meta({ id: "Rejection" });

export const BulkSendResponse = z
  .object({
    batchId: z.uuid(),
    accepted: z.number().int(),
    rejected: z.array(RejectionSchema),
    messages: z.array(z.object({ index: z.number().int(), id: z.uuid() })),
  })
  .meta({ id: "BulkSendResponse" });

export const MessageSchema = z
  .object({
    id: z.uuid(),
    to: z.string().meta({ description: "E.164" }),
    text: z.string(),
    status: MessageStatusSchema,
    segments: z.number().int(),
    encoding: z.enum(["GSM-7", "UCS-2"]),
    batchId: z.uuid().nullable(),
    customId: z.string().nullable(),
    priority: z.number().int(),
    scheduledAt: nullableTimestamp(),
    validUntil: nullableTimestamp(),
    createdAt: z.string().meta({ format: "date-time" }),
    updatedAt: z.string().meta({ format: "date-time" }),
    acceptedAt: nullableTimestamp(),
    sentAt: nullableTimestamp(),
    deliveredAt: nullableTimestamp(),
    failedAt: nullableTimestamp(),
    error: z.string().nullable(),
    senderId: z.uuid().nullable().meta({ description: "The sender of the current (latest) attempt; null before the first" }),
    from: z.string().nullable().meta({ description: "That sender's phone number (E.164); null when unknown" }),
    attemptCount: z.number().int().meta({ description: "Hand-overs to the gateway, each under its own id (`attempts` in GET /messages/{id})" }),
    waitingReason: z
      .enum(WAITING_REASONS)
      .nullable()
      .meta({
        description:
          "Why the message has no attempt going; null when it is not waiting. `no_active_sender`, `paused`, " +
          "`sender_offline`: no sender it may use is active; `rate_limited`, `daily_cap`, `monthly_cap`: their budgets " +
          "are spent for now; `outside_send_window`; `failover_unconfirmed`: its sender went offline and the gateway has " +
          "not confirmed the cancel, so it is not resent",
      }),
  })
  .meta({ id: "Message" });

export const AttemptSchema = z
  .object({
    id: z.uuid().meta({ description: "The id the gateway knows; a message from before the fleet has one attempt with its own id" }),
    n: z.number().int().meta({ description: "1, 2, ... in order" }),
    senderId: z.uuid().nullable().meta({ description: "null for an attempt from before the fleet, or whose sender was deleted" }),
    status: z.enum(ATTEMPT_STATUSES),
    error: z.string().nullable(),
    createdAt: z.string().meta({ format: "date-time", description: "When the attempt began" }),
    acceptedAt: nullableTimestamp(),
    sentAt: nullableTimestamp(),
    deliveredAt: nullableTimestamp(),
    failedAt: nullableTimestamp(),
    cancelledAt: nullableTimestamp(),
  })
  .meta({ id: "Attempt" });

export const MessageEventSchema = z
  .object({
    id: z.uuid().nullable().meta({ description: "The stored transition's id; null for the derived steps (creation, implied states)" }),
    status: MessageStatusSchema,
    occurredAt: z.string().meta({ format: "date-time" }),
    payload: z.unknown().nullable().meta({ description: "What caused the transition (gateway answer, webhook)" }),
    implied: z.boolean().meta({
      description:
        "True for a state the message has no event for but a later transition implies it reached " +
        "(`sent` when a delivery report overtook the sent report); occurredAt is then the implying transition's time",
    }),
  })
  .meta({ id: "MessageEvent" });

export const MessageDetailSchema = MessageSchema.extend({
  attempts: z.array(AttemptSchema).meta({ description: "Every attempt, by `n`" }),
  events: z.array(MessageEventSchema).meta({
    description:
      "The timeline, oldest first: the creation (`queued`, or `scheduled` for a later send, at `createdAt`; " +
      "derived, as creation writes no event), then each status transition, each preceded by the states it skipped (`implied: true`)",
  }),
}).meta({ id: "MessageDetail" });

export const ListMessagesQuery = z.object({
  status: MessageStatusSchema.optional(),
  phone: safeText().max(256).optional().meta({ description: "Recipient; normalised like `to`" }),
  batchId: z.uuid().optional(),
  senderId: z.uuid().optional().meta({ description: "Only messages whose current attempt is (or was last) through this sender" }),
  createdAfter: isoDateTime().optional().meta({ description: "Created at or after (inclusive)" }),
  createdBefore: isoDateTime().optional().meta({ description: "Created before (exclusive)" }),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: safeText().max(200).optional().meta({ description: "`nextCursor` of the previous page" }),
});

export const MessageListResponse = z
  .object({
    data: z.array(MessageSchema),
    nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page" }),
  })
  .meta({ id: "MessageList" });

export const BatchSchema = z
  .object({
    id: z.uuid(),
    total: z.number().int(),
    createdAt: z.string().meta({ format: "date-time" }),
    counts: z.record(MessageStatusSchema, z.number().int()).meta({ description: "Messages per status (every status, zeros included)" }),
  })
  .meta({ id: "Batch" });
