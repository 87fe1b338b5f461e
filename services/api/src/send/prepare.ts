import { analyzeText, renderTemplate, type SmsEncoding } from "@inboxerr/sms";
import type { RejectCode } from "../schemas/messages";
import { MAX_SEGMENTS, MAX_TEXT_CHARS } from "./limits";
import type { PhoneNormalizer } from "./phone-cache";

export type RecipientInput = {
  to: string;
  text?: string | undefined;
  variables?: Record<string, string | number> | undefined;
  customId?: string | undefined;
};

/** A recipient that passed validation, ready to become a `messages` row. */
export type Candidate = {
  index: number;
  to: string;
  text: string;
  encoding: SmsEncoding;
  segments: number;
  customId: string | null;
};

export type Rejection = { index: number; to: string; code: RejectCode; detail: string };

const NO_VARIABLES: Record<string, string> = {};

/** Longest stretch of recipients worked through before other requests get a turn. */
const YIELD_AFTER_MS = 20;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const tooLongDetail = `more than ${MAX_TEXT_CHARS} characters; at most ${MAX_SEGMENTS} segments are allowed`;

/**
 * Validates every recipient on its own: the good ones become candidates, each bad one a
 * rejection naming its index and the first reason found. Pure CPU; runs before any
 * transaction is opened so a slow bulk never holds a database connection while it thinks.
 * Linear in the request: templates are bounded by the schema (MAX_TEMPLATE_CHARS) and a
 * rendering longer than MAX_TEXT_CHARS is measured, never built, so no recipient costs more than a few thousand characters.
 * Still, 10,000 full-size renderings (or first-seen phone numbers) take seconds of CPU, so the
 * loop hands the event loop back every YIELD_AFTER_MS: /healthz and other requests go on.
 */
export async function prepareRecipients(
  recipients: readonly RecipientInput[],
  sharedTemplate: string | undefined,
  phones: PhoneNormalizer,
  /** Single sends carry no variables, so their text is sent as written, braces and all. */
  renderTemplates = true,
): Promise<{ candidates: Candidate[]; rejections: Rejection[] }> {
  const candidates: Candidate[] = [];
  const rejections: Rejection[] = [];
  const seenCustomIds = new Set<string>();
  // Most bulks share one template: analyse it once when it has nothing to fill in.
  const staticAnalysis = sharedTemplate && !sharedTemplate.includes("{{") ? analyzeText(sharedTemplate) : undefined;

  let sliceStarted = performance.now();
  for (let index = 0; index < recipients.length; index++) {
    if (index % 64 === 63 && performance.now() - sliceStarted > YIELD_AFTER_MS) {
      await yieldToEventLoop();
      sliceStarted = performance.now();
    }
    const r = recipients[index]!;

    const phone = phones.normalize(r.to);
    if (!phone.ok) {
      rejectAt(rejections, index, r.to, "invalid_phone", phone.reason);
      continue;
    }
    const template = r.text ?? sharedTemplate;
    if (!template) {
      rejectAt(rejections, index, r.to, "missing_text", "no text for this recipient and no shared text");
      continue;
    }
    let text = template;
    let analysis = template === sharedTemplate ? staticAnalysis : undefined;
    if (!analysis && renderTemplates && template.includes("{{")) {
      const rendered = renderTemplate(template, r.variables ?? NO_VARIABLES, MAX_TEXT_CHARS);
      if (!rendered.ok && "tooLong" in rendered) {
        rejectAt(rejections, index, r.to, "text_too_long", tooLongDetail);
        continue;
      }
      if (!rendered.ok) {
        rejectAt(rejections, index, r.to, "missing_variable", `no value for ${rendered.missing.map((m) => `{{${m}}}`).join(", ")}`);
        continue;
      }
      text = rendered.text;
    }
    if (text.trim() === "") {
      rejectAt(rejections, index, r.to, "missing_text", "the text is empty");
      continue;
    }
    if (!analysis && text.length > MAX_TEXT_CHARS) {
      rejectAt(rejections, index, r.to, "text_too_long", tooLongDetail);
      continue;
    }
    analysis ??= analyzeText(text);
    if (analysis.segments > MAX_SEGMENTS) {
      rejectAt(rejections, index, r.to, "text_too_long", `${analysis.segments} segments (${analysis.encoding}); at most ${MAX_SEGMENTS} are allowed`);
      continue;
    }
    const customId = r.customId ?? null;
    if (customId !== null) {
      if (seenCustomIds.has(customId)) {
        rejectAt(rejections, index, r.to, "duplicate_custom_id", `customId ${JSON.stringify(customId)} appears earlier in this request`);
        continue;
      }
      seenCustomIds.add(customId);
    }
    candidates.push({ index, to: phone.e164, text, encoding: analysis.encoding, segments: analysis.segments, customId });
  }
  return { candidates, rejections };
}

function rejectAt(rejections: Rejection[], index: number, to: string, code: RejectCode, detail: string): void {
  rejections.push({ index, to, code, detail });
}
