import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { gatewayAccounts, senders } from "./schema/fleet";
import { messageAttempts, messages } from "./schema/messages";
import { users } from "./schema/users";
import { connectTestDb, insertMessage, insertUser, randomSuffix } from "./test-support";

const { db, close } = connectTestDb(4);
afterAll(close);

// Drizzle wraps driver errors; the constraint name lives on the cause.
const violated = (p: Promise<unknown>) =>
  p.then(
    () => "no violation",
    (err: { cause?: { constraint?: string } }) => err.cause?.constraint ?? "unknown",
  );

describe("schema constraints", () => {
  it("rejects a mixed-case email, so uniqueness is case-insensitive", async () => {
    const email = `Mixed-${randomSuffix()}@Example.com`;
    expect(await violated(db.insert(users).values({ email, passwordHash: "x" }))).toBe("users_email_lowercase_check");
  });

  it("rejects unknown roles and statuses and out-of-range priorities", async () => {
    const user = await insertUser(db);
    expect(await violated(db.update(users).set({ role: "root" as "admin" }).where(eq(users.id, user.id)))).toBe(
      "users_role_check",
    );
    expect(await violated(insertMessage(db, user.id, { status: "lost" as "sent" }))).toBe("messages_status_check");
    expect(await violated(insertMessage(db, user.id, { priority: 128 }))).toBe("messages_priority_check");
    expect(await violated(insertMessage(db, user.id, { priority: -128 }))).toBe("no violation");
  });

  it("keeps customId unique per user only when one is given", async () => {
    const [a, b] = [await insertUser(db), await insertUser(db)];
    await insertMessage(db, a.id);
    expect(await violated(insertMessage(db, a.id))).toBe("no violation");
    await insertMessage(db, a.id, { customId: "order-1" });
    expect(await violated(insertMessage(db, a.id, { customId: "order-1" }))).toBe("messages_user_id_custom_id_idx");
    expect(await violated(insertMessage(db, b.id, { customId: "order-1" }))).toBe("no violation");
  });

  it("fills defaults: uuid ids, timestamps with time zone, priority 0, counters 0", async () => {
    const user = await insertUser(db);
    const m = await insertMessage(db, user.id);
    expect(m.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(m).toMatchObject({ priority: 0, attempts: 0, partsDelivered: 0, partsExpected: null, batchId: null });
    expect(m.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(m.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(user.role).toBe("user");
  });

  it("bumps updated_at on drizzle updates", async () => {
    const user = await insertUser(db);
    const m = await insertMessage(db, user.id);
    const [after] = await db.update(messages).set({ attempts: 1 }).where(eq(messages.id, m.id)).returning();
    expect(after!.updatedAt.getTime()).toBeGreaterThanOrEqual(m.updatedAt.getTime());
  });

  it("keeps one sender per SIM, the device's default SIM (NULL) included, and one shared account per name", async () => {
    const name = `acct-${randomSuffix()}`;
    const [account] = await db.insert(gatewayAccounts).values({ name, baseUrl: "http://gw", username: "u" }).returning();
    expect(await violated(db.insert(gatewayAccounts).values({ name, baseUrl: "http://gw", username: "u" }))).toBe(
      "gateway_accounts_owner_user_id_name_key",
    );
    const user = await insertUser(db);
    expect(await violated(db.insert(gatewayAccounts).values({ name, ownerUserId: user.id, baseUrl: "http://gw", username: "u" }))).toBe("no violation");
    const sim = (simNumber: number | null) => db.insert(senders).values({ accountId: account!.id, deviceId: "dev-1", simNumber });
    await sim(null);
    expect(await violated(sim(null))).toBe("senders_account_id_device_id_sim_number_key");
    await sim(1);
    expect(await violated(sim(1))).toBe("senders_account_id_device_id_sim_number_key");
    expect(await violated(sim(4))).toBe("senders_sim_number_check");
  });

  it("allows one live attempt per message and numbers attempts uniquely", async () => {
    const user = await insertUser(db);
    const m = await insertMessage(db, user.id);
    const attempt = (n: number, status: "sending" | "failed" | "sent") => db.insert(messageAttempts).values({ messageId: m.id, n, status });
    await attempt(1, "sending");
    expect(await violated(attempt(2, "sending"))).toBe("message_attempts_live_idx");
    await db.update(messageAttempts).set({ status: "failed" }).where(eq(messageAttempts.messageId, m.id));
    expect(await violated(attempt(1, "sent"))).toBe("message_attempts_message_id_n_key");
    expect(await violated(attempt(2, "sent"))).toBe("no violation");
    expect(await violated(db.update(messages).set({ waitingReason: "tired" as "paused" }).where(eq(messages.id, m.id)))).toBe(
      "messages_waiting_reason_check",
    );
  });
});
