import { z } from "zod";
import { validationMessage } from "../http/errors";

// Go's JSON decoder treats null like an absent field; so does the simulator.
const sendSchema = z.object({
  id: z.string().max(36).nullish(),
  deviceId: z.string().max(21).nullish(),
  message: z.string().max(65535).nullish(),
  textMessage: z.object({ text: z.string().min(1).max(65535) }).nullish(),
  dataMessage: z.object({ data: z.string().min(4).max(65535), port: z.number().int().min(1).max(65535) }).nullish(),
  phoneNumbers: z.array(z.string().min(1).max(512)).min(1).max(100),
  isEncrypted: z.boolean().nullish(),
  simNumber: z.number().int().min(1).max(3).nullish(),
  withDeliveryReport: z.boolean().nullish(),
  priority: z.number().int().min(-128).max(127).nullish(),
  ttl: z.number().int().min(5).nullish(),
  validUntil: z.iso.datetime({ offset: true }).nullish(),
  scheduleAt: z.iso.datetime({ offset: true }).nullish(),
});

type ParsedSend = {
  /** Absent means the gateway generates one. */
  id: string | null;
  deviceId: string | null;
  /** Null for a data message (its payload is not text). */
  text: string | null;
  phoneNumbers: string[];
  isEncrypted: boolean;
  simNumber: number | null;
  withDeliveryReport: boolean;
  priority: number;
  validUntil: number | null;
  scheduleAt: number | null;
};

export type ParseResult = { ok: true; value: ParsedSend } | { ok: false; message: string };

const ONE_CONTENT = "must specify exactly one of: textMessage or dataMessage";

/**
 * Validates a send body the way SMS Gate does and answers with its wording: exactly one of
 * `textMessage`, `dataMessage` or the legacy `message`; `ttl` xor `validUntil`; 1..100
 * recipients, normalised to E.164 unless `skipPhoneValidation=true` or the body is encrypted.
 */
export function parseSend(body: unknown, opts: { skipPhoneValidation: boolean; now: number }): ParseResult {
  const parsed = sendSchema.safeParse(body);
  if (!parsed.success) {
    return { ok: false, message: validationMessage(parsed.error) };
  }
  const b = parsed.data;
  const contents = [b.message ? 1 : 0, b.textMessage ? 1 : 0, b.dataMessage ? 1 : 0].reduce((x, y) => x + y, 0);
  if (contents === 0) return { ok: false, message: `validation failed: ${ONE_CONTENT}` };
  if (contents > 1) return { ok: false, message: `conflict fields: ${ONE_CONTENT}` };
  if (b.ttl != null && b.validUntil != null) return { ok: false, message: "conflict fields: ttl and validUntil" };
  const scheduleAt = b.scheduleAt ? Date.parse(b.scheduleAt) : null;
  if (scheduleAt !== null && scheduleAt <= opts.now) {
    return { ok: false, message: "validation failed: scheduleAt must be in the future" };
  }

  const isEncrypted = b.isEncrypted ?? false;
  const phoneNumbers: string[] = [];
  for (const [i, raw] of b.phoneNumbers.entries()) {
    const phone = isEncrypted || opts.skipPhoneValidation ? raw : toE164(raw);
    if (phone === null) return { ok: false, message: `can't use phone in row ${i + 1}: invalid phone number` };
    phoneNumbers.push(phone);
  }

  const validUntil = b.ttl != null ? opts.now + b.ttl * 1000 : b.validUntil ? Date.parse(b.validUntil) : null;
  return {
    ok: true,
    value: {
      id: b.id || null,
      deviceId: b.deviceId || null,
      text: b.textMessage?.text ?? b.message ?? null,
      phoneNumbers,
      isEncrypted,
      simNumber: b.simNumber ?? null,
      withDeliveryReport: b.withDeliveryReport ?? true,
      priority: b.priority ?? 0,
      validUntil,
      scheduleAt,
    },
  };
}

/** A loose E.164 check (no libphonenumber here): 7..15 digits, no leading zero. */
function toE164(raw: string): string | null {
  const compact = raw.replace(/[\s().-]/g, "");
  const digits = compact.startsWith("+") ? compact.slice(1) : compact;
  return /^[1-9]\d{6,14}$/.test(digits) ? `+${digits}` : null;
}
