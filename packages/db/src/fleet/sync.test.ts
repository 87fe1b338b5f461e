import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayAccounts, senders, type GatewayAccount } from "../schema/fleet";
import { parseSecretsKey, sealSecret } from "../secrets";
import { connectTestDb, randomSuffix } from "../test-support";
import { AccountSyncError, syncGatewayAccount } from "./sync";

// The edges of GET /devices the simulator does not produce: a phone without SIM cards, a
// deleted phone, a listing that repeats a SIM, a number that disappears. A stub gateway over
// real HTTP answers what each step sets; the simulator-backed tests live with the api and the
// sender-worker.
const { db, close } = connectTestDb(4);
const secrets = parseSecretsKey(Buffer.from("db-sync-test-secrets-key-32bytes").toString("base64"));
const PASSWORD = "stub-gateway-password";

let server: Server;
let baseUrl: string;
let devices: unknown[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const expected = `Basic ${Buffer.from(`stub:${PASSWORD}`).toString("base64")}`;
    if (req.headers.authorization !== expected) return void res.writeHead(401).end(JSON.stringify({ message: "Unauthorized" }));
    if (req.url !== "/3rdparty/v1/devices") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(devices));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/3rdparty/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await close();
});

async function account(password = PASSWORD): Promise<GatewayAccount> {
  const [row] = await db
    .insert(gatewayAccounts)
    .values({ name: `stub-${randomSuffix()}`, baseUrl, username: "stub", password: sealSecret(secrets, "gateway_accounts.password", password) })
    .returning();
  return row!;
}

const settings = { secrets, defaultPassword: "unused", timeoutMs: 10_000 };
const rows = (accountId: string) =>
  db.select().from(senders).where(eq(senders.accountId, accountId)).orderBy(asc(senders.deviceId), asc(senders.simNumber));

describe("syncGatewayAccount", () => {
  it("folds repeats, skips deleted phones, gives a SIM-less phone one sender, and keeps what the gateway stops saying", async () => {
    const acc = await account();
    const seen = "2026-03-02T10:00:00.000Z";
    const sim1 = { slotIndex: 0, simNumber: 1, phoneNumber: "+15550000001", carrierName: "Simtel" };
    devices = [
      { id: "phone-a", lastSeen: seen, simCards: [] },
      { id: "phone-b", lastSeen: seen, simCards: [sim1, sim1] },
      { id: "phone-c", lastSeen: seen, deletedAt: seen, simCards: [sim1] },
    ];
    expect(await syncGatewayAccount(db, acc, settings)).toEqual({ devices: 2, unreported: [] });
    const [a, b] = await rows(acc.id);
    expect(await rows(acc.id)).toHaveLength(2);
    expect(a).toMatchObject({ deviceId: "phone-a", simNumber: null, phoneNumber: null, carrier: null, status: "active" });
    expect(b).toMatchObject({ deviceId: "phone-b", simNumber: 1, phoneNumber: "+15550000001", carrier: "Simtel", lastSeenAt: new Date(seen) });

    // An admin retires one and pauses the other; the gateway then hides B's number, reports an
    // older lastSeen, and no longer lists phone A.
    await db.update(senders).set({ status: "retired" }).where(eq(senders.id, b!.id));
    await db.update(senders).set({ status: "paused", pausedReason: "lost" }).where(eq(senders.id, a!.id));
    devices = [{ id: "phone-b", lastSeen: "2026-03-02T09:00:00Z", simCards: [{ slotIndex: 0, phoneNumber: "", carrierName: null }] }];
    expect(await syncGatewayAccount(db, acc, settings)).toEqual({ devices: 1, unreported: [a!.id] });
    const after = await rows(acc.id);
    expect(after).toEqual([
      { ...a, status: "paused", pausedReason: "lost", updatedAt: expect.any(Date) },
      { ...b, status: "retired", updatedAt: expect.any(Date) },
    ]);
  });

  it("says which credentials the gateway refused, and that a sealed password needs SECRETS_KEY", async () => {
    devices = [{ id: "phone-a", simCards: [] }];
    const wrong = await account("not-the-password");
    const refused = await syncGatewayAccount(db, wrong, settings).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AccountSyncError);
    expect(refused).toMatchObject({ kind: "gateway", status: 401, message: expect.stringMatching(/refused .*credentials/) });
    const keyless = await syncGatewayAccount(db, await account(), { ...settings, secrets: null }).catch((err: unknown) => err);
    expect(keyless).toMatchObject({ kind: "secrets", message: expect.stringContaining("SECRETS_KEY") });
    expect(await rows(wrong.id)).toEqual([]);
  });
});
