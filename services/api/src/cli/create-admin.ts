import { eq } from "drizzle-orm";
import { z } from "zod";
import { users, type Db } from "@inboxerr/db";
import { hashPassword } from "../auth/password";
import { judgePassword } from "../auth/password-strength";

export type AdminInput = { email: string; password?: string | undefined; name?: string | undefined };
export type AdminOutcome = { action: "created" | "promoted" | "unchanged"; userId: string; email: string };

const emailSchema = z.email().max(254);

/**
 * Makes `email` an admin: promotes the user if they exist (their password stays as it is),
 * otherwise creates them with `password`. The only way an account becomes admin.
 */
export async function createOrPromoteAdmin(db: Db, input: AdminInput): Promise<AdminOutcome> {
  const email = input.email.trim().toLowerCase();
  if (!emailSchema.safeParse(email).success) throw new UsageError(`not an email address: ${input.email}`);
  const [existing] = await db.select({ id: users.id, role: users.role }).from(users).where(eq(users.email, email));
  if (existing) {
    if (existing.role === "admin") return { action: "unchanged", userId: existing.id, email };
    await db.update(users).set({ role: "admin" }).where(eq(users.id, existing.id));
    return { action: "promoted", userId: existing.id, email };
  }
  if (!input.password || input.password.length < 8 || input.password.length > 256) {
    throw new UsageError("a new admin needs a password of 8 to 256 characters (--password or ADMIN_PASSWORD)");
  }
  // The same rule as POST /auth/register: an admin's password guards more, not less.
  const verdict = judgePassword(input.password, { email, name: input.name ?? null });
  if (!verdict.ok) throw new UsageError(`the password is refused: ${verdict.reason}`);
  const passwordHash = await hashPassword(input.password);
  const [created] = await db
    .insert(users)
    .values({ email, passwordHash, name: input.name ?? null, role: "admin" })
    .returning({ id: users.id });
  return { action: "created", userId: created!.id, email };
}

/** Bad arguments: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
