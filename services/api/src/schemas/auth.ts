import { z } from "zod";
import { safeText } from "./common";

const email = z
  .email()
  .max(254)
  .transform((v) => v.toLowerCase())
  .meta({ example: "ada@example.com" });

// Upper bound keeps scrypt's input (and a hostile request's CPU cost) small.
const password = safeText()
  .min(8)
  .max(256)
  .meta({ example: "correct horse battery staple", description: "8-256 characters, not easy to guess: zxcvbn score 3 of 4 or more" });

export const RegisterRequest = z
  .object({ email, password, name: safeText().min(1).max(200).optional() })
  .meta({ id: "RegisterRequest", description: "Any other field (such as `role`) is ignored: registration never grants admin." });

export const TokenRequest = z.object({ email, password: safeText().min(1).max(256) }).meta({ id: "TokenRequest" });

/** The OAuth 2.0 password-grant form (RFC 6749 §4.3), so standard clients and /docs can log in. */
export const TokenForm = z
  .object({
    grant_type: z.literal("password").optional(),
    username: email,
    password: safeText().min(1).max(256),
  })
  .meta({ id: "TokenForm" });

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().meta({ description: "Seconds until the token expires" }),
  })
  .meta({ id: "TokenResponse" });

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.enum(["user", "admin"]),
    createdAt: z.string().meta({ format: "date-time" }),
  })
  .meta({ id: "User" });

export const MeResponse = UserSchema.extend({
  authMethod: z.enum(["jwt", "api_key"]).meta({ description: "How this request authenticated" }),
}).meta({ id: "Me" });
