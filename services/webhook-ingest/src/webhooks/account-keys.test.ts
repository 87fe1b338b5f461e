import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, gatewayAccounts, sealSecret, type DbHandle } from "@inboxerr/db";
import { testEnv } from "@inboxerr/testing";
import { SECRETS } from "../testing/harness";
import { createAccountKeys } from "./account-keys";

let database: DbHandle;
beforeAll(() => {
  database = createDb(testEnv().databaseUrl);
});
afterAll(() => database.close());

const seal = (key: string) => sealSecret(SECRETS, "gateway_accounts.webhook_signing_key", key);

async function account(key: string) {
  const [row] = await database.db
    .insert(gatewayAccounts)
    .values({ name: `keys-${randomUUID()}`, baseUrl: "http://x", username: "u", webhookSigningKey: seal(key) })
    .returning();
  return row!.id;
}

describe("createAccountKeys", () => {
  it("caches a key for ttlMs, and re-reads it after a mismatch at most once per recheckMs", async () => {
    let now = 1_000_000;
    const keys = createAccountKeys({ pool: database.pool, secrets: SECRETS, defaultKey: "env-key", ttlMs: 30_000, recheckMs: 5_000, clock: () => now });
    const id = await account("first-key");
    expect(await keys.get(id)).toEqual({ kind: "key", key: "first-key", scope: id });

    await database.db.update(gatewayAccounts).set({ webhookSigningKey: seal("second-key") }).where(eq(gatewayAccounts.id, id));
    now += 1_000;
    expect(await keys.get(id)).toMatchObject({ key: "first-key" });
    // Read 1 s ago: a flood of bad signatures does not turn into a read each.
    expect(await keys.recheck(id)).toBeNull();
    now += 5_000;
    expect(await keys.recheck(id)).toMatchObject({ key: "second-key" });
    expect(await keys.get(id)).toMatchObject({ key: "second-key" });

    await database.db.update(gatewayAccounts).set({ status: "disabled" }).where(eq(gatewayAccounts.id, id));
    now += 30_000;
    expect(await keys.get(id)).toEqual({ kind: "disabled" });
  });

  it("says why an account cannot verify: unknown, no key, a key this SECRETS_KEY cannot open", async () => {
    const keys = createAccountKeys({ pool: database.pool, secrets: SECRETS, defaultKey: "env-key" });
    expect(await keys.get(randomUUID())).toEqual({ kind: "unknown" });
    const [keyless] = await database.db.insert(gatewayAccounts).values({ name: `keys-${randomUUID()}`, baseUrl: "http://x", username: "u" }).returning();
    expect(await keys.get(keyless!.id)).toEqual({ kind: "no_key" });
    const sealed = await account("k");
    expect(await createAccountKeys({ pool: database.pool, secrets: null, defaultKey: "env-key" }).get(sealed)).toEqual({ kind: "unreadable" });
  });
});
