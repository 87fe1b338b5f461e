import { parseArgs } from "node:util";
import { loadConfig } from "@inboxerr/config";
import { createDb } from "@inboxerr/db";
import { createOrPromoteAdmin, UsageError } from "./create-admin";

const USAGE = `Usage: pnpm admin:create --email <email> [--password <password>] [--name <name>]
       (or ADMIN_EMAIL / ADMIN_PASSWORD; prefer the env var for the password: arguments show in ps)
Promotes an existing user to admin, or creates the admin if the email is new.`;

async function main(): Promise<number> {
  let values: { email?: string; password?: string; name?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      options: { email: { type: "string" }, password: { type: "string" }, name: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const email = values.email ?? positionals[0] ?? process.env.ADMIN_EMAIL;
  const password = values.password ?? positionals[1] ?? process.env.ADMIN_PASSWORD;
  if (!email) {
    console.error(`An email is required.\n${USAGE}`);
    return 2;
  }
  const { DATABASE_URL } = loadConfig(["DATABASE_URL"]);
  const db = createDb(DATABASE_URL, { applicationName: "inboxerr-admin-create", max: 1 });
  try {
    const outcome = await createOrPromoteAdmin(db.db, { email, password, name: values.name });
    const said = {
      created: `Created admin ${outcome.email} (id ${outcome.userId}).`,
      promoted: `Promoted existing user ${outcome.email} (id ${outcome.userId}) to admin; password unchanged.`,
      unchanged: `${outcome.email} (id ${outcome.userId}) is already an admin; nothing changed.`,
    }[outcome.action];
    console.log(said);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${USAGE}`);
      return 2;
    }
    console.error(`admin:create failed: ${(err as Error).message}`);
    return 1;
  } finally {
    await db.close();
  }
}

process.exitCode = await main();
