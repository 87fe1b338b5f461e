import { runMigrations } from "@inboxerr/db/migrate";
import { createDatabase, dropDatabase, testDatabaseName, withAdminClient, withDatabase } from "./database";
import { testEnv } from "./env";

/**
 * A migrated database of the caller's own. The sender's sweeper and outbox relay act on every
 * row in their database by design (no tenant filter), so a test that runs them (the
 * sender-worker tests, the end-to-end test) would pick up other test files' queued messages
 * and events on the run's shared database. Named like the run's databases, so a killed run's
 * leftovers are dropped by the next global setup.
 */
export async function createPrivateDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = testEnv().databaseUrl;
  const name = testDatabaseName();
  await withAdminClient(server, (admin) => createDatabase(admin, name));
  const url = withDatabase(server, name);
  await runMigrations(url);
  return { url, drop: () => withAdminClient(server, (admin) => dropDatabase(admin, name)) };
}
