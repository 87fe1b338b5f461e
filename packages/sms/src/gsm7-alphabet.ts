// GSM 7-bit default alphabet and its basic-character-set extension table, per 3GPP TS 23.038
// §6.2.1. Written out row by row (0x00–0x7F) so it can be checked against the spec's table.
// 0x1B is the escape to the extension table, not a character, so it is left out of BASIC.
const BASIC_ROWS = [
  "@£$¥èéùìòÇ\nØø\rÅå", // 0x00–0x0F (0x09 is capital Ç; lowercase ç is not in the alphabet)
  "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ", //     0x10–0x1F without 0x1B (ESC)
  " !\"#¤%&'()*+,-./", //    0x20–0x2F (0x24 is ¤, not $: $ lives at 0x02)
  "0123456789:;<=>?", //    0x30–0x3F
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§", // 0x40–0x5F (0x40 is ¡, not @: @ lives at 0x00)
  "¿abcdefghijklmnopqrstuvwxyzäöñüà", // 0x60–0x7F
];

// Each of these is sent as ESC + code, so it costs two septets.
const EXTENSION_CHARS = "\f^{}\\[~]|€";

const BASIC = new Set([...BASIC_ROWS.join("")]);
const EXTENSION = new Set([...EXTENSION_CHARS]);

/** Septets a character costs in GSM-7, or undefined when GSM-7 cannot carry it at all. */
export function gsm7Septets(char: string): 1 | 2 | undefined {
  if (BASIC.has(char)) return 1;
  if (EXTENSION.has(char)) return 2;
  return undefined;
}
