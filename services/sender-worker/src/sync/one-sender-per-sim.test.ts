import { and, eq, inArray } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSends } from "@inboxerr/contracts";
import { ensureDefaultAccount, messageAttempts, senders } from "@inboxerr/db";
import { createPrivateDatabase, createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { startGateway, startSender, testPrefix, TEST_SECRETS_KEY, type TestSender } from "../testing/harness";
import { messageRow } from "../testing/messages";

// ADR 0025 end to end: the README's setup (SMSGATE_DEVICE_ID set, SMSGATE_SIM_NUMBER unset) on
// a phone with one SIM, whose sender the boot makes before discovery sees that SIM. The SIM's
// daily cap must hold across both. A database of its own: the `default` account's senders are
// shared, so they would route other files' messages.
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender;
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");

beforeAll(async () => {
  [database, gateway] = await Promise.all([createPrivateDatabase(), startGateway({ devices: 1, simsPerDevice: 1 })]);
  sender = await startSender({
    gatewayUrl: gateway.url,
    prefix: testPrefix(),
    databaseUrl: database.url,
    env: { SMSGATE_DEVICE_ID: gateway.deviceIds()[0]!, SECRETS_KEY: TEST_SECRETS_KEY },
    tuning: { senderCacheMs: 50, maxWaitMs: 300, maxCapWaitMs: 300, budgetSettleMs: 50 },
  });
});
afterAll(async () => {
  await sender?.close();
  await gateway?.close();
  await database?.drop();
  await redis.quit();
});

/** Every budget key of this sender-worker: Redis "lost everything", so budgets rebuild from Postgres. */
async function dropBudgets(prefix: string) {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:budget:*`, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  if (keys.length > 0) await redis.del(...keys);
}

describe("one sender per SIM", () => {
  it("the env's sender and the synced SIM are one sender: its daily cap holds across discovery, a reboot and a Redis loss", async () => {
    const device = gateway.deviceIds()[0]!;
    const boot = await ensureDefaultAccount(sender.db, sender.config);
    await sender.db.update(senders).set({ dailyCap: 3 }).where(eq(senders.id, boot.senderId!));
    await waitFor(async () => (await sender.sender.fleetSnapshot()).senders.get(boot.senderId!)?.dailyCap === 3, {
      message: "routing sees the env's sender and its cap",
    });
    const user = await createTestUser(sender.db);

    // Before discovery: two messages through the SIM-less sender (the device's default SIM).
    const early = await insertMessages(sender.db, user.id, 2);
    await enqueueSends(sender.sender.sendQueue, early);
    await waitFor(async () => (await Promise.all(early.map((m) => messageRow(sender.db, m.id)))).every((m) => m.status === "accepted"), {
      message: "the first two accepted",
    });

    // Discovery sees the phone's one SIM; a replica boots again afterwards.
    await waitFor(() => sender.sender.runSenderSyncOnce(), { message: "a sync pass holding the lock" });
    expect(await ensureDefaultAccount(sender.db, sender.config)).toEqual(boot);
    const fleet = await sender.db.select().from(senders).where(and(eq(senders.accountId, boot.accountId), eq(senders.deviceId, device)));
    expect(fleet.map((s) => [s.id, s.simNumber, s.status])).toEqual([[boot.senderId, 1, "active"]]);
    await waitFor(async () => (await sender.sender.fleetSnapshot()).senders.get(boot.senderId!)?.simNumber === 1, {
      message: "routing sees the adopted SIM",
    });

    // Redis loses the day's count: it is rebuilt from the attempts, which kept the sender's id.
    await dropBudgets(sender.config.QUEUE_PREFIX);
    const late = await insertMessages(sender.db, user.id, 3, { to: "+15550001234" });
    await enqueueSends(sender.sender.sendQueue, late);
    await waitFor(
      async () => {
        const rows = await Promise.all(late.map((m) => messageRow(sender.db, m.id)));
        return rows.filter((m) => m.status === "accepted").length === 1 && rows.filter((m) => m.waitingReason === "daily_cap").length === 2;
      },
      { timeoutMs: 20_000, message: "one more accepted, two waiting for tomorrow's budget" },
    );

    const attempts = await sender.db
      .select()
      .from(messageAttempts)
      .where(inArray(messageAttempts.messageId, [...early, ...late].map((m) => m.id)));
    expect(attempts).toHaveLength(3);
    expect(attempts.every((a) => a.senderId === boot.senderId)).toBe(true);
    expect(Object.keys(gateway.statsOf().sendsById)).toHaveLength(3);
  });
});
