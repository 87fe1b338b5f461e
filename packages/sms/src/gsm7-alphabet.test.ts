import { describe, expect, it } from "vitest";
import { gsm7Septets } from "./gsm7-alphabet.js";

function charsCosting(septets: 1 | 2): string[] {
  const chars: string[] = [];
  for (let code = 0; code <= 0xffff; code += 1) {
    const char = String.fromCharCode(code);
    if (gsm7Septets(char) === septets) chars.push(char);
  }
  return chars;
}

describe("GSM-7 alphabet", () => {
  it("has the 127 characters of the default alphabet (128 codes minus ESC)", () => {
    expect(charsCosting(1)).toHaveLength(127);
  });

  it("has exactly the ten extension characters, each costing two septets", () => {
    expect(charsCosting(2).sort()).toEqual([..."\f^{}\\[~]|€"].sort());
  });

  it.each([..."@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜ§¿äöñüà¤¡ \n\r"])("carries %j", (char) => {
    expect(gsm7Septets(char)).toBe(1);
  });

  it("carries every printable ASCII character except the extension ones and the backtick", () => {
    const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i));
    const missing = ascii.filter((char) => gsm7Septets(char) !== 1);
    expect(missing.sort()).toEqual([..."`[]{}~\\^|"].sort());
  });

  it.each([..."`çÀáíóúêÁ\t\u001b"])("cannot carry %j", (char) => {
    expect(gsm7Septets(char)).toBeUndefined();
  });
});
