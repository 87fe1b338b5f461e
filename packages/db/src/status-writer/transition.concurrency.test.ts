import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { messageEvents, messages } from "../schema/messages";
import { connectTestDb, insertMessage, insertMessageRows, insertUser } from "../test-support";
import { transition, transitionMany } from "./transition";

const { db, pool, close } = connectTestDb(25);
afterAll(close);

const user = await insertUser(db);
const statusCounts = async (messageId: string) => {
  const rows = await db
    .select({ status: messageEvents.status, n: sql<number>`count(*)::int` })
    .from(messageEvents)
    .where(eq(messageEvents.messageId, messageId))
    .groupBy(messageEvents.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
};

describe("racing transitions", () => {
  it("lets exactly one of 20 parallel identical moves win", async () => {
    const message = await insertMessage(db, user.id);
    const results = await Promise.all(Array.from({ length: 20 }, () => transition(db, { messageId: message.id, to: "sending" })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await statusCounts(message.id)).toEqual({ sending: 1 });
  });

  it("leaves one event per status when sent and delivered reports race", async () => {
    const message = await insertMessage(db, user.id, { status: "accepted" });
    const racers = Array.from({ length: 40 }, (_, i) =>
      transition(db, { messageId: message.id, to: i % 2 ? "delivered" : "sent" }),
    );
    const won = (await Promise.all(racers)).filter(Boolean);
    const counts = await statusCounts(message.id);
    expect(counts.delivered).toBe(1);
    expect(counts.sent ?? 0).toBeLessThanOrEqual(1);
    expect(won).toHaveLength(1 + (counts.sent ?? 0));
    const [final] = await db.select().from(messages).where(eq(messages.id, message.id));
    expect(final!.status).toBe("delivered");
  });
});

describe("transitionMany", () => {
  it("moves 1,000 messages in one round trip", async () => {
    const batch = await insertMessageRows(db, user.id, 1_000);
    const query = vi.spyOn(pool, "query");
    const events = await transitionMany(db, batch.map((m) => ({ messageId: m.id, to: "sending" as const })));
    expect(query).toHaveBeenCalledTimes(1);
    query.mockRestore();

    expect(events).toHaveLength(1_000);
    expect(new Set(events.map((e) => e.messageId))).toEqual(new Set(batch.map((m) => m.id)));
    const moved = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(messages)
      .where(inArray(messages.id, batch.map((m) => m.id)));
    expect(moved[0]!.n).toBe(1_000);
    const statuses = await db.selectDistinct({ s: messages.status }).from(messages).where(inArray(messages.id, batch.map((m) => m.id)));
    expect(statuses).toEqual([{ s: "sending" }]);
  });

  it("applies mixed targets per item and skips the refused ones", async () => {
    const [a, b, c] = await insertMessageRows(db, user.id, 3, { status: "accepted" });
    const events = await transitionMany(db, [
      { messageId: a!.id, to: "sent" },
      { messageId: b!.id, to: "delivered", payload: { part: 1 } },
      { messageId: c!.id, to: "cancelled" }, // too late to cancel
    ]);
    expect(events.map((e) => [e.messageId, e.status]).sort()).toEqual(
      [[a!.id, "sent"], [b!.id, "delivered"]].sort(),
    );
    expect(await statusCounts(c!.id)).toEqual({});
  });

  it("applies repeated ids in input order, like sequential calls", async () => {
    const [forward, backward] = await insertMessageRows(db, user.id, 2, { status: "accepted" });
    const events = await transitionMany(db, [
      { messageId: forward!.id, to: "sent" },
      { messageId: backward!.id, to: "delivered" },
      { messageId: forward!.id, to: "delivered" },
      { messageId: backward!.id, to: "sent" }, // late sent report: refused
    ]);
    expect(events).toHaveLength(3);
    expect(await statusCounts(forward!.id)).toEqual({ sent: 1, delivered: 1 });
    expect(await statusCounts(backward!.id)).toEqual({ delivered: 1 });
  });

  it("returns nothing for an empty list without touching the database", async () => {
    const query = vi.spyOn(pool, "query");
    expect(await transitionMany(db, [])).toEqual([]);
    expect(query).not.toHaveBeenCalled();
    query.mockRestore();
  });
});
