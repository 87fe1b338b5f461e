import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

// OWASP's scrypt floor (N=2^17, r=8, p=1) costs ~130 MB and ~250 ms per login; 2^15 keeps a
// login near 50 ms at 32 MB, which a rate-limited endpoint can afford on a small box.
const PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 64;
const SALT_BYTES = 16;

type Cost = { N: number; r: number; p: number };

function derive(password: string, salt: Buffer, cost: Cost, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // scrypt needs ~128·N·r bytes; the default 32 MB maxmem is exactly too small for N=2^15.
    scrypt(password.normalize("NFKC"), salt, keylen, { ...cost, maxmem: 256 * cost.N * cost.r }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url), so the cost can rise later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, PARAMS, KEY_LENGTH);
  return ["scrypt", PARAMS.N, PARAMS.r, PARAMS.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Constant-time check; a malformed stored hash simply does not verify. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltText, hashText] = stored.split("$");
  if (scheme !== "scrypt" || !saltText || !hashText) return false;
  const opts = { N: Number(n), r: Number(r), p: Number(p) };
  if (![opts.N, opts.r, opts.p].every((v) => Number.isInteger(v) && v > 0) || opts.N > 2 ** 20) return false;
  const expected = Buffer.from(hashText, "base64url");
  const actual = await derive(password, Buffer.from(saltText, "base64url"), opts, expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/**
 * Burns the same scrypt time as a real check, for logins with an unknown email: otherwise the
 * response time would tell an attacker which emails have accounts.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword("inboxerr-dummy-password");
  await verifyPassword(password, await dummyHash);
  return false;
}
