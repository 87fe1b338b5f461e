import { analyzeText, renderTemplate, type SmsEncoding } from "@inboxerr/sms";
import type { RejectCode } from "../schemas/messages";
import { MAX_SEGMENTS } from "./limits";
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

/**
 * Validates every recipient on its own: the good ones become candidates, each bad one a
 * rejection naming its index and the first reason found. Pure CPU; runs before any
 * transaction is opened so a slow bulk never holds a database connection while it thinks.
 */
export function prepareRecipients(
  recipients: readonly RecipientInput[],
  sharedTemplate: string | undefined,
  phones: PhoneNormalizer,
  /** Single sends carry no variables, so their text is sent as written, braces and all. */
  renderTemplates = true,
): { candidates: Candidate[]; rejections: Rejection[] } {
  const candidates: Candidate[] = [];
  const rejections: Rejection[] = [];
  const seenCustomIds = new Set<string>();
  // Most bulks share one template: analyse it once when it has nothing to fill in.
  const staticAnalysis = sharedTemplate && !sharedTemplate.includes("{{") ? analyzeText(sharedTemplate) : undefined;

  for (let index = 0; index < recipients.length; index++) {
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
      const rendered = renderTemplate(template, r.variables ?? NO_VARIABLES);
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
