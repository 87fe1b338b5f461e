import { and, eq, isNull } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { gatewayAccounts, senders } from "../schema/fleet";
import { connectTestDb, randomSuffix } from "../test-support";
import { ensureDefaultAccount } from "./default-account";

const { db, close } = connectTestDb(8);
afterAll(close);

// Other test files share the run's database and may boot the same `default` row: each check
// here uses a device id of its own, and only reads the account's id.
describe("ensureDefaultAccount", () => {
  it("makes one account and one sender however many replicas boot at once, and keeps what admins set", async () => {
    const device = `dev-${randomSuffix()}`;
    const settings = { SMSGATE_URL: "http://127.0.0.1:3002/3rdparty/v1", SMSGATE_USERNAME: "inboxerr", SMSGATE_DEVICE_ID: device, SMSGATE_SIM_NUMBER: 2 };
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureDefaultAccount(db, settings)));
    expect(new Set(results.map((r) => r.accountId)).size).toBe(1);
    expect(new Set(results.map((r) => r.senderId)).size).toBe(1);
    const accounts = await db.select().from(gatewayAccounts).where(and(isNull(gatewayAccounts.ownerUserId), eq(gatewayAccounts.name, "default")));
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({ password: null, webhookSigningKey: null, kind: "smsgate" });

    const senderId = results[0]!.senderId!;
    await db.update(senders).set({ label: "front desk", dailyCap: 100, status: "paused" }).where(eq(senders.id, senderId));
    expect(await ensureDefaultAccount(db, settings)).toEqual(results[0]);
    const [sender] = await db.select().from(senders).where(eq(senders.id, senderId));
    expect(sender).toMatchObject({ deviceId: device, simNumber: 2, label: "front desk", dailyCap: 100, status: "paused" });
  });

  it("follows the env: a device's default SIM is one sender, no device means no sender", async () => {
    const device = `dev-${randomSuffix()}`;
    const base = { SMSGATE_URL: "http://127.0.0.1:3002/3rdparty/v1", SMSGATE_USERNAME: "inboxerr" };
    const first = await ensureDefaultAccount(db, { ...base, SMSGATE_DEVICE_ID: device });
    expect(await ensureDefaultAccount(db, { ...base, SMSGATE_DEVICE_ID: device })).toEqual(first);
    expect(await db.select().from(senders).where(eq(senders.deviceId, device))).toHaveLength(1);
    expect(await ensureDefaultAccount(db, base)).toEqual({ accountId: first.accountId, senderId: null });
  });

  it("without SMSGATE_SIM_NUMBER, keeps the device's sender once discovery gave it a SIM, and makes no SIM-less one again (ADR 0025)", async () => {
    const device = `dev-${randomSuffix()}`;
    const settings = { SMSGATE_URL: "http://127.0.0.1:3002/3rdparty/v1", SMSGATE_USERNAME: "inboxerr", SMSGATE_DEVICE_ID: device };
    const boot = await ensureDefaultAccount(db, settings);
    // Discovery adopted it: the device's one SIM.
    await db.update(senders).set({ simNumber: 1 }).where(eq(senders.id, boot.senderId!));
    expect(await ensureDefaultAccount(db, settings)).toEqual(boot);
    // Discovery retired it for the device's two SIMs: the lowest one standing is the env's now.
    await db.update(senders).set({ simNumber: null, status: "retired" }).where(eq(senders.id, boot.senderId!));
    await db.insert(senders).values([2, 1].map((simNumber) => ({ accountId: boot.accountId, deviceId: device, simNumber })));
    const after = await ensureDefaultAccount(db, settings);
    const rows = await db.select().from(senders).where(eq(senders.deviceId, device));
    expect(rows).toHaveLength(3);
    expect(after.senderId).toBe(rows.find((r) => r.simNumber === 1)!.id);
  });
});

