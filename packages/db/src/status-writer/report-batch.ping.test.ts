import { randomUUID } from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ACCOUNT_NAME, gatewayAccounts, senders } from "../schema/fleet";
import { connectTestDb } from "../test-support";
import { applyReportBatch, type GatewayEnvelope } from "./report-batch";

// A device's system:ping (ADR 0022 "Liveness"): its senders, of the account the ping came
// through, are seen now (forward only) and hold the ping's payload as their health.

const { db, close } = connectTestDb();
afterAll(close);

let defaultAccount: string;
let other: string;
beforeAll(async () => {
  // Shared with other files of the run: the default account is one row, made by whoever is first.
  await db.insert(gatewayAccounts).values({ ownerUserId: null, name: DEFAULT_ACCOUNT_NAME, baseUrl: "http://x", username: "u" }).onConflictDoNothing();
  defaultAccount = (await db.select().from(gatewayAccounts).where(eq(gatewayAccounts.name, DEFAULT_ACCOUNT_NAME))).find((a) => a.ownerUserId === null)!.id;
  other = (await db.insert(gatewayAccounts).values({ name: `ping-${randomUUID()}`, baseUrl: "http://x", username: "u" }).returning())[0]!.id;
});

const HEALTH = { status: "pass", checks: { "battery:level": { status: "pass", observedValue: 80 } } };

function ping(deviceId: string, accountId: string | null, health: unknown = HEALTH): GatewayEnvelope {
  const json = JSON.stringify({ id: randomUUID(), webhookId: "w", deviceId, event: "system:ping", payload: { health } });
  return { envelopeId: randomUUID(), event: "system:ping", deviceId, messageId: null, json, act: { kind: "ping" }, accountId };
}

/** Two SIMs of one device on `accountId`, and the same device id on the other account. */
async function device(accountId: string, lastSeenAt: Date | null = null) {
  const deviceId = `dev-${randomUUID()}`;
  const rows = await db
    .insert(senders)
    .values([
      { accountId, deviceId, simNumber: 1, lastSeenAt },
      { accountId, deviceId, simNumber: 2, lastSeenAt },
      { accountId: accountId === other ? defaultAccount : other, deviceId, simNumber: 1 },
    ])
    .returning();
  return { deviceId, mine: rows.slice(0, 2).map((r) => r.id), theirs: rows[2]!.id };
}

const sendersOf = async (ids: string[]) => db.select().from(senders).where(inArray(senders.id, ids));

describe("report batch: system:ping", () => {
  it("through an account's URL, marks that account's senders of the device seen, with the payload as health", async () => {
    const d = await device(other);
    const before = Date.now();
    const e = ping(d.deviceId, other);
    const result = await applyReportBatch(db, [e]);
    expect(result.applied).toEqual(new Set([e.envelopeId]));
    for (const s of await sendersOf(d.mine)) {
      expect(s.lastSeenAt!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(s.health).toEqual({ health: HEALTH });
      expect(s.status).toBe("active");
    }
    expect((await sendersOf([d.theirs]))[0]).toMatchObject({ lastSeenAt: null, health: null });
  });

  it("through the legacy URL, names the default account's senders", async () => {
    const d = await device(defaultAccount);
    await applyReportBatch(db, [ping(d.deviceId, null)]);
    expect((await sendersOf(d.mine)).every((s) => s.lastSeenAt !== null)).toBe(true);
    expect((await sendersOf([d.theirs]))[0]!.lastSeenAt).toBeNull();
  });

  it("never moves last_seen_at back, keeps a paused sender paused, and a redelivered ping changes nothing", async () => {
    const future = new Date(Date.now() + 3_600_000);
    const d = await device(other, future);
    await db.update(senders).set({ status: "paused" }).where(eq(senders.id, d.mine[0]!));
    const e = ping(d.deviceId, other, { status: "warn" });
    await applyReportBatch(db, [e]);
    const [a, b] = (await sendersOf(d.mine)).sort((x, y) => (x.simNumber ?? 0) - (y.simNumber ?? 0));
    expect(a).toMatchObject({ lastSeenAt: future, status: "paused", health: { health: { status: "warn" } } });
    expect(b!.lastSeenAt).toEqual(future);

    await db.update(senders).set({ health: null }).where(inArray(senders.id, d.mine));
    expect((await applyReportBatch(db, [e])).applied).toEqual(new Set());
    expect((await sendersOf(d.mine)).map((s) => s.health)).toEqual([null, null]);
  });

  it("a ping from a device with no sender is stored only", async () => {
    const e = ping(`dev-${randomUUID()}`, other);
    const result = await applyReportBatch(db, [e]);
    expect(result.inserted).toEqual(new Set([e.envelopeId]));
    expect(result.applied).toEqual(new Set());
  });
});
