import jwt from "jsonwebtoken";
import { z } from "zod";

// Pinned: a token's own `alg` header never chooses the verification (no `none`, no RS/HS confusion).
const ALGORITHM = "HS256" as const;
const ISSUER = "inboxerr";
/** Replicas' clocks may differ a little; a token issued further in the future is not ours. */
const CLOCK_SKEW_SECONDS = 60;

export function signAccessToken(userId: string, secret: string, expiresInSeconds: number): string {
  return jwt.sign({}, secret, { algorithm: ALGORITHM, expiresIn: expiresInSeconds, subject: userId, issuer: ISSUER });
}

export type VerifyResult = { ok: true; userId: string } | { ok: false; reason: string };

// Every token we sign has these; jsonwebtoken checks `exp` and `nbf` only when present, so a
// token minted elsewhere with our secret but no `exp` would otherwise live for ever. The
// subject must be a uuid before it reaches a uuid column (else Postgres answers 22P02).
const Claims = z.object({ sub: z.uuid(), exp: z.number(), iat: z.number() });

/** Verifies signature, algorithm, issuer, expiry, issue time and subject shape; never throws. */
export function verifyAccessToken(token: string, secret: string): VerifyResult {
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, secret, { algorithms: [ALGORITHM], issuer: ISSUER });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) return { ok: false, reason: "token expired" };
    if (err instanceof jwt.NotBeforeError) return { ok: false, reason: "token not yet valid" };
    return { ok: false, reason: "invalid token" };
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) {
    return { ok: false, reason: `token lacks a valid \`${String(claims.error.issues[0]?.path[0])}\` claim` };
  }
  if (claims.data.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS) return { ok: false, reason: "token issued in the future" };
  return { ok: true, userId: claims.data.sub };
}
