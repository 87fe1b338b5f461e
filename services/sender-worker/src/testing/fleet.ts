// Test-only: gateway accounts and senders as the api and the sync make them (ADR 0017).
import { gatewayAccounts, parseSecretsKey, sealSecret, senders, type Db, type GatewayAccount, type Sender } from "@inboxerr/db";

/** SECRETS_KEY for tests that store account passwords; pass it in the sender's env. */
export const TEST_SECRETS_KEY = Buffer.from("sender-route-test-secrets-key-32").toString("base64");
const secrets = parseSecretsKey(TEST_SECRETS_KEY);

/**
 * An account with its password sealed as the api seals it. `ownerUserId` keeps a test's fleet
 * to its own user: shared accounts (owner NULL) route every user's messages.
 */
export async function addAccount(
  db: Db,
  opts: { ownerUserId: string | null; name: string; baseUrl: string; username: string; password: string; status?: "active" | "disabled" },
): Promise<GatewayAccount> {
  const [account] = await db
    .insert(gatewayAccounts)
    .values({
      ownerUserId: opts.ownerUserId,
      name: opts.name,
      baseUrl: opts.baseUrl,
      username: opts.username,
      password: sealSecret(secrets, "gateway_accounts.password", opts.password),
      status: opts.status ?? "active",
    })
    .returning();
  return account!;
}

/** One sender per device id (the device's default SIM unless `simNumber`). */
export async function addSenders(
  db: Db,
  accountId: string,
  deviceIds: readonly string[],
  opts: Partial<Pick<Sender, "status" | "simNumber" | "ratePerMinute" | "dailyCap" | "monthlyUniqueCap">> = {},
): Promise<Sender[]> {
  return db
    .insert(senders)
    .values(deviceIds.map((deviceId) => ({ accountId, deviceId, ...opts })))
    .returning();
}
