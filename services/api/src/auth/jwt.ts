import jwt from "jsonwebtoken";

// Pinned: a token's own `alg` header never chooses the verification (no `none`, no RS/HS confusion).
const ALGORITHM = "HS256" as const;
const ISSUER = "inboxerr";

export type TokenClaims = { sub: string };

export function signAccessToken(userId: string, secret: string, expiresInSeconds: number): string {
  return jwt.sign({}, secret, { algorithm: ALGORITHM, expiresIn: expiresInSeconds, subject: userId, issuer: ISSUER });
}

export type VerifyResult = { ok: true; userId: string } | { ok: false; reason: string };

/** Verifies signature, algorithm, issuer and expiry; never throws. */
export function verifyAccessToken(token: string, secret: string): VerifyResult {
  try {
    const payload = jwt.verify(token, secret, { algorithms: [ALGORITHM], issuer: ISSUER });
    if (typeof payload === "string" || typeof payload.sub !== "string") return { ok: false, reason: "token has no subject" };
    return { ok: true, userId: payload.sub };
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) return { ok: false, reason: "token expired" };
    return { ok: false, reason: "invalid token" };
  }
}
