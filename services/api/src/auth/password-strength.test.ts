import { describe, expect, it } from "vitest";
import { ESTIMATED_CHARS, judgePassword, loadPasswordEstimator } from "./password-strength";

const ada = { email: "ada.lovelace@example.com", name: "Ada Lovelace" };

describe("password strength", () => {
  it("accepts the README's passphrase and other long unusual ones", () => {
    for (const password of ["correct horse battery staple", "Plum-Quartz-Mitten-42", "tiny green ferns at dusk"]) {
      expect(judgePassword(password, ada)).toMatchObject({ ok: true });
    }
  });

  it("refuses the commonest passwords and says why", () => {
    for (const password of ["password", "12345678", "qwertyuiop", "P@ssw0rd", "iloveyou2024", "Password1!"]) {
      const verdict = judgePassword(password, ada);
      expect(verdict.ok, password).toBe(false);
      if (!verdict.ok) expect(verdict.reason).toMatch(/^Too easy to guess \(strength [0-2] of 4, 3 needed\)\. .*(common|sequence|pattern)/);
    }
  });

  it("refuses the email itself and the account's own names", () => {
    const email = judgePassword("ada.lovelace@example.com", ada);
    expect(email).toMatchObject({ ok: false, score: 0 });
    if (!email.ok) expect(email.reason).toContain("personal");
    for (const password of ["ada.lovelace", "lovelace1", "Lovelace2024", "example.com"]) {
      expect(judgePassword(password, ada).ok, password).toBe(false);
    }
    // The same strings are fine for someone else.
    expect(judgePassword("ada.lovelace", { email: "bob@example.org" }).score).toBeGreaterThan(judgePassword("ada.lovelace", ada).score);
  });

  it("estimates only the first 64 characters, so a 256-character password costs what 64 do", () => {
    loadPasswordEstimator();
    const hostile = "1234567890".repeat(26).slice(0, 256);
    const started = process.cpuUsage();
    const long = judgePassword(hostile, ada);
    const used = process.cpuUsage(started);
    const cpuMs = (used.user + used.system) / 1000;
    expect(long.score).toBe(judgePassword(hostile.slice(0, ESTIMATED_CHARS), ada).score);
    // Unbounded, this input took ~2 s; bounded, under 50 ms of CPU on a loaded 2-core box.
    expect(cpuMs).toBeLessThan(150);
  });
});
