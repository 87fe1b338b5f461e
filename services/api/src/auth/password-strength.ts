import { createRequire } from "node:module";
import { ZxcvbnFactory, type TranslationKeys } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";

/**
 * zxcvbn's 0..4 scale; 3 = "safely unguessable" (~10^8 guesses or more). Enough behind scrypt
 * and the per-account login limit, and it still lets through a passphrase of three plain words.
 */
const MIN_PASSWORD_SCORE = 3;

/**
 * zxcvbn is superlinear in the length: 256 random characters took seconds of CPU. Only this
 * prefix is estimated, so it must be strong on its own; the rest of a longer password only
 * adds to it.
 */
export const ESTIMATED_CHARS = 64;

/**
 * How many l33t substitutions (4→a, $→s...) zxcvbn tries per password. Its default, 100, made
 * a 64-character run of symbols and digits cost ~200 ms of CPU on a loaded 2-core box; 10 cost
 * under 50 ms there and still catches `P@ssw0rd` and `p4$$w0rd123`.
 */
const L33T_MAX_SUBSTITUTIONS = 10;

// The English messages without the English dictionaries: those (Wikipedia words, names) are
// 5 MB, double the start-up cost and make each estimate ~10x slower; the common-password and
// diceware lists of language-common are what catch the commonest passwords.
const translations = createRequire(import.meta.url)("@zxcvbn-ts/language-en/dist/translations.cjs") as TranslationKeys;

let estimator: ZxcvbnFactory | undefined;

/**
 * Builds the estimator's ranked dictionaries (a few hundred ms of CPU, once). createApp calls
 * it so the api pays this at start-up, not in the first registration.
 */
export function loadPasswordEstimator(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs, translations, maxLength: ESTIMATED_CHARS, l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS });
  return estimator;
}

export type PasswordVerdict = { ok: true; score: number } | { ok: false; score: number; reason: string };

/**
 * Judges a new password against common passwords, keyboard patterns, dates, repeats and the
 * account's own details: the email, its local part and domain, and the name, whole and word by
 * word, so `ada@example.com` or `lovelace1` scores 0 for Ada Lovelace at example.com.
 */
export function judgePassword(password: string, account: { email: string; name?: string | null }): PasswordVerdict {
  const { score, feedback } = loadPasswordEstimator().check(password, accountWords(account));
  if (score >= MIN_PASSWORD_SCORE) return { ok: true, score };
  const why = [feedback.warning, ...feedback.suggestions].filter(Boolean).join(" ");
  return { ok: false, score, reason: `Too easy to guess (strength ${score} of 4, ${MIN_PASSWORD_SCORE} needed). ${why}`.trim() };
}

function accountWords({ email, name }: { email: string; name?: string | null }): string[] {
  const [local = "", domain = ""] = email.toLowerCase().split("@");
  const parts = [local, domain, name ?? ""].flatMap((s) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u));
  return [...new Set([email.toLowerCase(), local, domain, (name ?? "").toLowerCase(), ...parts])].filter((w) => w.length >= 3);
}
