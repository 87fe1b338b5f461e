import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { createDb, users } from "@inboxerr/db";
import { createTestUser, testEnv, uniqueSuffix } from "@inboxerr/testing";
import { verifyPassword } from "../auth/password";
import { createOrPromoteAdmin, UsageError } from "./create-admin";

const db = createDb(testEnv().databaseUrl);
afterAll(() => db.close());

const run = promisify(execFile);
const cli = fileURLToPath(new URL("./admin-create.ts", import.meta.url));

async function roleOf(email: string) {
  const [row] = await db.db.select().from(users).where(eq(users.email, email));
  return row;
}

describe("createOrPromoteAdmin", () => {
  it("creates a new admin with a hashed password", async () => {
    const email = `Admin-${uniqueSuffix()}@Example.com`;
    const outcome = await createOrPromoteAdmin(db.db, { email, password: "quartz admin lantern" });
    expect(outcome.action).toBe("created");
    const row = await roleOf(email.toLowerCase());
    expect(row?.role).toBe("admin");
    expect(await verifyPassword("quartz admin lantern", row!.passwordHash)).toBe(true);
  });

  it("promotes an existing user without touching the password, and is idempotent", async () => {
    const user = await createTestUser(db.db);
    expect((await createOrPromoteAdmin(db.db, { email: user.email, password: "ignored password" })).action).toBe("promoted");
    expect(await roleOf(user.email)).toMatchObject({ role: "admin", passwordHash: user.passwordHash });
    expect((await createOrPromoteAdmin(db.db, { email: user.email })).action).toBe("unchanged");
  });

  it("refuses a new admin without a usable password", async () => {
    await expect(createOrPromoteAdmin(db.db, { email: `x-${uniqueSuffix()}@example.com` })).rejects.toBeInstanceOf(UsageError);
    await expect(createOrPromoteAdmin(db.db, { email: "not-an-email", password: "long enough" })).rejects.toBeInstanceOf(UsageError);
  });

  it("refuses a new admin whose password is common or made of their own email", async () => {
    const email = `ops-${uniqueSuffix()}@example.com`;
    for (const password of ["password123", email, `${email.split("@")[0]}!`]) {
      await expect(createOrPromoteAdmin(db.db, { email, password })).rejects.toThrow(/the password is refused: Too easy to guess/);
    }
    expect(await roleOf(email)).toBeUndefined();
  });
});

describe("pnpm admin:create", () => {
  it("takes the email and password from the environment, says what it did and never prints the password", async () => {
    const email = `cli-${uniqueSuffix()}@example.com`;
    const password = `secret-${uniqueSuffix()}`;
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", cli], {
      env: { ...process.env, ADMIN_EMAIL: email, ADMIN_PASSWORD: password },
    });
    expect(stdout).toMatch(new RegExp(`^Created admin ${email} \\(id [0-9a-f-]{36}\\)\\.`));
    expect(stdout + stderr).not.toContain(password);
    expect((await roleOf(email))?.role).toBe("admin");
  });

  it("exits 2 with usage when no email is given", async () => {
    const env = { ...process.env, ADMIN_EMAIL: "", ADMIN_PASSWORD: "" };
    const failure = await run(process.execPath, ["--import", "tsx", cli], { env }).catch((err: { code: number; stderr: string }) => err);
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringContaining("Usage: pnpm admin:create") });
  });
});
