import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultAccount, gatewayAccounts, parseSecretsKey, sealSecret, senders } from "@inboxerr/db";
import { createPrivateDatabase, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { startGateway, startSender, testPrefix, type TestSender } from "../testing/harness";

// The periodic sync over real HTTP against a simulator with 2 phones × 2 SIMs per account, in
// a database of its own: the sync (like the sweeper and relay it starts with) acts on every
// account there, and its "every active account" must be exactly the accounts made here.
const SECRETS_KEY = Buffer.from("sender-sync-test-secrets-key-32b").toString("base64");
const secrets = parseSecretsKey(SECRETS_KEY);

let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender;
let now = Date.parse("2026-03-02T10:00:00Z");

type DeviceDto = { id: string; simCards: { simNumber: number; phoneNumber: string; carrierName: string }[] };

/** A new account in the simulator, and its row in gateway_accounts (password sealed as the api does). */
async function addAccount(opts: { password?: string; status?: "active" | "disabled" } = {}) {
  const login = { username: `sync-${uniqueSuffix()}`, password: "sim-account-password" };
  const res = await fetch(gateway.url.replace(/\/3rdparty\/v1$/, "/simulator/accounts"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(login),
  });
  expect(res.status).toBe(201);
  const { devices } = (await res.json()) as { devices: DeviceDto[] };
  const [account] = await sender.db
    .insert(gatewayAccounts)
    .values({
      name: login.username,
      baseUrl: gateway.url,
      username: login.username,
      password: sealSecret(secrets, "gateway_accounts.password", opts.password ?? login.password),
      status: opts.status ?? "active",
    })
    .returning();
  return { account: account!, devices };
}

/**
 * By device id, then SIM, compared by code point on both sides: Postgres orders text by the
 * database's collation and localeCompare by ICU's, which disagree on case ("ePF…" vs "Lko…").
 */
const bySim = (a: { deviceId: string; simNumber: number | null }, b: { deviceId: string; simNumber: number | null }) =>
  (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) || (a.simNumber ?? 0) - (b.simNumber ?? 0);

const sendersOf = async (accountId: string) => (await sender.db.select().from(senders).where(eq(senders.accountId, accountId))).sort(bySim);

beforeAll(async () => {
  [database, gateway] = await Promise.all([createPrivateDatabase(), startGateway({ devices: 2, simsPerDevice: 2, clock: () => now })]);
  sender = await startSender({
    gatewayUrl: gateway.url,
    prefix: testPrefix(),
    databaseUrl: database.url,
    autostart: false,
    env: { SENDER_SYNC_SECONDS: "0.2", SECRETS_KEY },
  });
});
afterAll(async () => {
  await sender?.close();
  await gateway?.close();
  await database?.drop();
});

describe("periodic sender sync", () => {
  it("syncs every active account, goes on past one that fails, and picks up a new account's phones", async () => {
    // The env's `default` account (password from SMSGATE_PASSWORD), one whose password the
    // gateway refuses, and a disabled one that must not be called.
    const { accountId: defaultId } = await ensureDefaultAccount(sender.db, sender.config);
    const refused = await addAccount({ password: "wrong-password" });
    const disabled = await addAccount({ status: "disabled" });
    sender.sender.start({ periodic: true });

    const synced = await waitFor(async () => ((await sendersOf(defaultId)).length === 4 ? sendersOf(defaultId) : null), {
      message: "the default account's 4 SIMs as senders",
    });
    expect(synced.every((s) => s.phoneNumber?.startsWith("+1555") && s.carrier && s.lastSeenAt?.getTime() === now)).toBe(true);

    const added = await addAccount();
    const discovered = await waitFor(async () => ((await sendersOf(added.account.id)).length === 4 ? sendersOf(added.account.id) : null), {
      message: "the new account's 4 SIMs as senders",
    });
    const expected = added.devices
      .flatMap((d) => d.simCards.map((c) => ({ deviceId: d.id, simNumber: c.simNumber, phoneNumber: c.phoneNumber, carrier: c.carrierName })))
      .sort(bySim);
    expect(discovered.map(({ deviceId, simNumber, phoneNumber, carrier }) => ({ deviceId, simNumber, phoneNumber, carrier }))).toEqual(expected);
    expect(discovered.every((s) => s.status === "active")).toBe(true);

    // Later passes keep last_seen_at fresh.
    now += 120_000;
    await waitFor(async () => (await sendersOf(added.account.id)).every((s) => s.lastSeenAt?.getTime() === now), {
      message: "last_seen_at moved to the phones' new lastSeen",
    });

    expect(await sendersOf(refused.account.id)).toEqual([]);
    expect(await sendersOf(disabled.account.id)).toEqual([]);
    // A pass by hand (once the timer's pass lets go of the lock): the refused account counts as failed, the rest went on.
    const pass = await waitFor(() => sender.sender.runSenderSyncOnce(), { message: "a sync pass holding the lock" });
    expect(pass).toEqual({ accounts: 3, failed: 1 });
  });
});
