import { gsm7Septets } from "./gsm7-alphabet.js";

export type SmsEncoding = "GSM-7" | "UCS-2";

export interface TextAnalysis {
  encoding: SmsEncoding;
  /** GSM-7 septets (extension characters count two) or UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
  /** Capacity of one segment at this length: the single-message limit or the multi-part one. */
  perSegment: number;
}

// Multi-part messages lose room to the 6-byte concatenation header (UDH): 7 septets in GSM-7,
// 3 UTF-16 code units in UCS-2.
const LIMITS: Record<SmsEncoding, { single: number; multi: number }> = {
  "GSM-7": { single: 160, multi: 153 },
  "UCS-2": { single: 70, multi: 67 },
};

/**
 * Chooses the encoding a phone would use for `text` and counts the SMS segments it needs
 * (3GPP TS 23.038). Empty text is one segment of zero units: phones still send an empty SMS.
 *
 * Segments are counted by packing characters, not by dividing the total: an escape sequence
 * (GSM-7 extension character) and a surrogate pair (UCS-2, e.g. emoji) are never split across
 * a segment boundary, so a segment can end one unit short and the message may need an extra
 * segment that `ceil(units / 153)` would miss.
 */
export function analyzeText(text: string): TextAnalysis {
  const costs = gsm7Costs(text) ?? ucs2Costs(text);
  const encoding: SmsEncoding = costs.gsm7 ? "GSM-7" : "UCS-2";
  const { single, multi } = LIMITS[encoding];
  const units = costs.sizes.reduce((sum, size) => sum + size, 0);
  if (units <= single) return { encoding, units, segments: 1, perSegment: single };
  return { encoding, units, segments: packSegments(costs.sizes, multi), perSegment: multi };
}

interface CharCosts {
  gsm7: boolean;
  /** Units per indivisible piece of text, in order. */
  sizes: number[];
}

function gsm7Costs(text: string): CharCosts | undefined {
  const sizes: number[] = [];
  for (const char of text) {
    const septets = gsm7Septets(char);
    if (septets === undefined) return undefined;
    sizes.push(septets);
  }
  return { gsm7: true, sizes };
}

// Iterating a string by code point yields a surrogate pair as one two-unit piece, so the
// packer keeps it whole; a lone surrogate is one unit, as the phone would send it.
function ucs2Costs(text: string): CharCosts {
  return { gsm7: false, sizes: Array.from(text, (char) => char.length) };
}

function packSegments(sizes: number[], capacity: number): number {
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > capacity) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return segments;
}
