/**
 * A local SMS segment counter (the simulator does not depend on @inboxerr/sms): GSM-7 fits
 * 160 septets in one part and 153 per part when concatenated; anything else is UCS-2 with
 * 70 and 67 UTF-16 units. Escape characters and surrogate pairs never straddle two parts.
 */
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED = "\f^{}\\[~]|€";

const basic = new Set(GSM_BASIC);
const extended = new Set(GSM_EXTENDED);

export type Segments = { encoding: "GSM-7" | "UCS-2"; parts: number };

export function countSegments(text: string): Segments {
  const chars = Array.from(text);
  const gsm = chars.every((c) => basic.has(c) || extended.has(c));
  if (gsm) {
    const sizes = chars.map((c) => (extended.has(c) ? 2 : 1));
    return { encoding: "GSM-7", parts: pack(sizes, 160, 153) };
  }
  return { encoding: "UCS-2", parts: pack(chars.map((c) => c.length), 70, 67) };
}

function pack(sizes: number[], single: number, multi: number): number {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total <= single) return 1;
  let parts = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > multi) {
      parts += 1;
      used = 0;
    }
    used += size;
  }
  return parts;
}
