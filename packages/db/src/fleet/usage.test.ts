import { afterAll, describe, expect, it } from "vitest";
import { gatewayAccounts, senders } from "../schema/fleet";
import { messageAttempts } from "../schema/messages";
import { connectTestDb, insertMessage, insertUser, randomSuffix } from "../test-support";
import { senderUsage } from "./usage";

const { db, close } = connectTestDb(4);
afterAll(close);

describe("senderUsage", () => {
  it("counts today's attempts and this month's distinct recipients per sender, in UTC, cancelled ones aside", async () => {
    const user = await insertUser(db);
    const [account] = await db.insert(gatewayAccounts).values({ name: `u-${randomSuffix()}`, baseUrl: "http://gw", username: "u" }).returning();
    const [s1, s2, idle] = await db
      .insert(senders)
      .values([1, 2, 3].map((simNumber) => ({ accountId: account!.id, deviceId: "d", simNumber })))
      .returning();
    const now = new Date("2026-03-15T00:30:00Z");
    const at = (iso: string) => new Date(iso);
    const attempt = async (senderId: string, to: string, createdAt: Date, status: "sent" | "cancelled" | "failed" = "sent") => {
      const m = await insertMessage(db, user.id, { to });
      await db.insert(messageAttempts).values({ messageId: m.id, senderId, n: 1, status, createdAt });
    };
    await attempt(s1!.id, "+14155550001", at("2026-03-15T00:10:00Z")); // today
    await attempt(s1!.id, "+14155550001", at("2026-03-15T00:20:00Z")); // today, same recipient
    await attempt(s1!.id, "+14155550002", at("2026-03-14T23:59:00Z")); // yesterday (UTC), this month
    await attempt(s1!.id, "+14155550003", at("2026-02-28T12:00:00Z")); // last month
    await attempt(s1!.id, "+14155550004", at("2026-03-15T00:25:00Z"), "cancelled"); // never left
    await attempt(s1!.id, "+14155550005", at("2026-03-15T00:40:00Z")); // after `now`
    await attempt(s2!.id, "+14155550006", at("2026-03-15T00:05:00Z"), "failed");

    const usage = await senderUsage(db, [s1!.id, s2!.id, idle!.id], now);
    expect(usage.get(s1!.id)).toEqual({ today: 2, monthUniqueRecipients: 2 });
    expect(usage.get(s2!.id)).toEqual({ today: 1, monthUniqueRecipients: 1 });
    expect(usage.has(idle!.id)).toBe(false);
    expect(await senderUsage(db, [])).toEqual(new Map());
  });
});
