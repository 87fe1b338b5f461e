import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayAccounts, senders, type GatewayAccount } from "../schema/fleet";
import { messages } from "../schema/messages";
import { parseSecretsKey, sealSecret } from "../secrets";
import { connectTestDb, insertMessage, insertUser, randomSuffix } from "../test-support";
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

  describe("one sender per SIM (ADR 0025)", () => {
    const seen = "2026-03-02T10:00:00.000Z";
    const sim = (n: number) => ({ slotIndex: n - 1, simNumber: n, phoneNumber: `+1555000010${n}`, carrierName: "Simtel" });
    /** The env's boot sender: the device's default SIM, no SIM number (ensureDefaultAccount without SMSGATE_SIM_NUMBER). */
    const bootSender = async (accountId: string, deviceId: string) =>
      (await db.insert(senders).values({ accountId, deviceId, simNumber: null, dailyCap: 7, label: "env" }).returning())[0]!;
    const routable = async (accountId: string) => (await rows(accountId)).filter((s) => s.status !== "retired");

    it("a device reporting one SIM adopts its SIM-less sender: same id, SIM number set, no second sender", async () => {
      const acc = await account();
      const boot = await bootSender(acc.id, "phone-a");
      devices = [{ id: "phone-a", lastSeen: seen, simCards: [sim(1)] }];
      await syncGatewayAccount(db, acc, settings);
      expect(await rows(acc.id)).toEqual([
        { ...boot, simNumber: 1, phoneNumber: "+15550000101", carrier: "Simtel", lastSeenAt: new Date(seen), updatedAt: expect.any(Date) },
      ]);
      // A second sync changes nothing more.
      await syncGatewayAccount(db, acc, settings);
      expect((await rows(acc.id)).map((s) => [s.id, s.simNumber, s.status])).toEqual([[boot.id, 1, "active"]]);
    });

    it("a device reporting several SIMs retires its SIM-less sender and moves the messages pinned to it to its lowest SIM", async () => {
      const acc = await account();
      const boot = await bootSender(acc.id, "phone-a");
      const user = await insertUser(db);
      const pinned = await Promise.all(
        (["queued", "scheduled", "delivered"] as const).map((status) => insertMessage(db, user.id, { status, pinnedSenderId: boot.id })),
      );
      devices = [{ id: "phone-a", lastSeen: seen, simCards: [sim(2), sim(1)] }];
      await syncGatewayAccount(db, acc, settings);
      const [one, two, retired] = await rows(acc.id);
      expect(retired).toMatchObject({ id: boot.id, simNumber: null, status: "retired", pausedReason: expect.stringMatching(/superseded/) });
      expect([one, two].map((s) => [s!.simNumber, s!.status])).toEqual([[1, "active"], [2, "active"]]);
      const pins = await db.select({ id: messages.id, pin: messages.pinnedSenderId }).from(messages).where(eq(messages.userId, user.id));
      const pinOf = (status: string) => pins.find((p) => p.id === pinned.find((m) => m.status === status)!.id)!.pin;
      // Unfinished messages follow the SIM; a finished one keeps the pin it was sent under.
      expect([pinOf("queued"), pinOf("scheduled"), pinOf("delivered")]).toEqual([one!.id, one!.id, boot.id]);
    });

    it("moves, on the next sync, a message pinned to a retired sender after the retire (a send that raced it)", async () => {
      // A send holding the sender `for share` makes the retire wait; it commits its message
      // pinned to the sender, and only then is the sender retired. Such a message, committed
      // after a pass's re-pin read the messages, is moved by the next pass.
      const acc = await account();
      const boot = await bootSender(acc.id, "phone-a");
      devices = [{ id: "phone-a", lastSeen: seen, simCards: [sim(2), sim(1)] }];
      await syncGatewayAccount(db, acc, settings);
      const user = await insertUser(db);
      const late = await insertMessage(db, user.id, { status: "queued", pinnedSenderId: boot.id });
      await syncGatewayAccount(db, acc, settings);
      const [one] = await rows(acc.id);
      const [moved] = await db.select({ pin: messages.pinnedSenderId }).from(messages).where(eq(messages.id, late.id));
      expect(moved!.pin).toBe(one!.id);
    });

    it("retires the SIM-less sender when its SIM already has a sender (deployments from before this rule)", async () => {
      const acc = await account();
      const boot = await bootSender(acc.id, "phone-a");
      const [simOne] = await db.insert(senders).values({ accountId: acc.id, deviceId: "phone-a", simNumber: 1 }).returning();
      devices = [{ id: "phone-a", lastSeen: seen, simCards: [sim(1)] }];
      await syncGatewayAccount(db, acc, settings);
      expect((await rows(acc.id)).map((s) => [s.id, s.status])).toEqual([
        [simOne!.id, "active"],
        [boot.id, "retired"],
      ]);
      expect((await routable(acc.id)).map((s) => s.id)).toEqual([simOne!.id]);
    });

    it("leaves the SIM-less sender of a device that reports no SIM cards, and a retired one unadopted", async () => {
      const acc = await account();
      const bare = await bootSender(acc.id, "phone-a");
      const gone = await bootSender(acc.id, "phone-b");
      await db.update(senders).set({ status: "retired" }).where(eq(senders.id, gone.id));
      devices = [
        { id: "phone-a", lastSeen: seen, simCards: [] },
        { id: "phone-b", lastSeen: seen, simCards: [sim(1)] },
      ];
      await syncGatewayAccount(db, acc, settings);
      expect((await rows(acc.id)).map((s) => [s.deviceId, s.simNumber, s.status, s.id === bare.id || s.id === gone.id])).toEqual([
        ["phone-a", null, "active", true],
        ["phone-b", 1, "active", false],
        ["phone-b", null, "retired", true],
      ]);
    });
  });
});

