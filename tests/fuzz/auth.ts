import { createHmac, randomUUID } from "node:crypto";

/** The fuzz's tenant: valid credentials so generated requests reach the handlers behind auth. */
export type Tenant = { userId: string; token: string; apiKey: string; jwtSecret: string };

/** Named, so a counterexample says which credentials a request carried. */
export const AUTH_CHOICES = [
  "bearer",
  "api-key",
  "both",
  "none",
  "bearer-garbage",
  "bearer-empty",
  "bearer-huge",
  "basic",
  "lowercase-scheme",
  "jwt-without-exp",
  "jwt-sub-not-uuid",
  "jwt-sub-unknown-user",
  "jwt-sub-number",
  "jwt-expired",
  "jwt-alg-none",
  "jwt-wrong-secret",
  "jwt-wrong-issuer",
  "jwt-exp-huge",
  "api-key-garbage",
  "api-key-huge",
] as const;
export type AuthChoice = (typeof AUTH_CHOICES)[number];

const b64url = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** An HS256 JWT as jsonwebtoken would sign it, with any claims we like (or lack). */
function hs256(claims: Record<string, unknown>, secret: string, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }): string {
  const head = `${b64url(header)}.${b64url(claims)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

export function authHeaders(choice: AuthChoice, t: Tenant): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  const valid = { iss: "inboxerr", iat: now, exp: now + 3600 };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  switch (choice) {
    case "bearer":
      return bearer(t.token);
    case "api-key":
      return { "x-api-key": t.apiKey };
    case "both":
      return { ...bearer(t.token), "x-api-key": t.apiKey };
    case "none":
      return {};
    case "bearer-garbage":
      return bearer("not.a.jwt");
    case "bearer-empty":
      return { authorization: "Bearer " };
    case "bearer-huge":
      return bearer("a".repeat(4_000));
    case "basic":
      return { authorization: `Basic ${Buffer.from("user:pass").toString("base64")}` };
    case "lowercase-scheme":
      return { authorization: `bearer ${t.token}` };
    case "jwt-without-exp":
      return bearer(hs256({ iss: "inboxerr", iat: now, sub: t.userId }, t.jwtSecret));
    case "jwt-sub-not-uuid":
      return bearer(hs256({ ...valid, sub: "not-a-uuid" }, t.jwtSecret));
    case "jwt-sub-unknown-user":
      return bearer(hs256({ ...valid, sub: randomUUID() }, t.jwtSecret));
    case "jwt-sub-number":
      return bearer(hs256({ ...valid, sub: 12345 }, t.jwtSecret));
    case "jwt-expired":
      return bearer(hs256({ ...valid, sub: t.userId, exp: now - 10 }, t.jwtSecret));
    case "jwt-alg-none":
      return bearer(`${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...valid, sub: t.userId })}.`);
    case "jwt-wrong-secret":
      return bearer(hs256({ ...valid, sub: t.userId }, "not-the-secret"));
    case "jwt-wrong-issuer":
      return bearer(hs256({ ...valid, iss: "someone-else", sub: t.userId }, t.jwtSecret));
    case "jwt-exp-huge":
      return bearer(hs256({ ...valid, sub: t.userId, exp: 1e308 }, t.jwtSecret));
    case "api-key-garbage":
      // Well-formed, so it gets as far as the database lookup.
      return { "x-api-key": `ibx_000000000000_${"A".repeat(43)}` };
    case "api-key-huge":
      return { "x-api-key": "k".repeat(4_000) };
  }
}
