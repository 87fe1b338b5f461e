import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { withTransaction } from "../named";
import { messageEvents, messages, type Message } from "../schema/messages";
import { canTransition, MESSAGE_STATUSES, type MessageStatus } from "../status";
import { connectTestDb, insertMessage, insertSender, insertUser } from "../test-support";
import { allowedTransitionSql } from "./state-machine.sql";
import { transition, transitionMany } from "./transition";

const { db, close } = connectTestDb();
afterAll(close);

const user = await insertUser(db);
const eventsOf = (messageId: string) => db.select().from(messageEvents).where(eq(messageEvents.messageId, messageId));
const load = async (id: string) => (await db.select().from(messages).where(eq(messages.id, id)))[0]!;
const stampOf = (m: Message, s: MessageStatus) => (m as unknown as Record<string, Date | null>)[`${s}At`];

const pairs = MESSAGE_STATUSES.flatMap((from) => MESSAGE_STATUSES.map((to) => ({ from, to, ok: canTransition(from, to) })));

describe("transition over all 81 (from, to) pairs", () => {
  it.for(pairs.filter((p) => p.ok))("moves $from → $to and records one event", async ({ from, to }) => {
    const message = await insertMessage(db, user.id, { status: from });
    const event = await transition(db, { messageId: message.id, to });

    expect(event).toMatchObject({ messageId: message.id, userId: user.id, status: to, publishedAt: null });
    const after = await load(message.id);
    expect(after.status).toBe(to);
    if (to !== "scheduled") expect(stampOf(after, to)).toBeInstanceOf(Date);
    expect(after.updatedAt.getTime()).toBeGreaterThanOrEqual(message.updatedAt.getTime());
    expect(await eventsOf(message.id)).toEqual([event]);
  });

  it.for(pairs.filter((p) => !p.ok))("refuses $from → $to, changing nothing", async ({ from, to }) => {
    const message = await insertMessage(db, user.id, { status: from });
    expect(await transition(db, { messageId: message.id, to, error: "nope" })).toBeNull();
    expect(await load(message.id)).toEqual(message);
    expect(await eventsOf(message.id)).toEqual([]);
  });
});

it("evaluates the SQL predicate exactly like canTransition for every pair", async () => {
  const list = sql.raw(MESSAGE_STATUSES.map((s) => `'${s}'`).join(", "));
  const { rows } = await db.execute<{ f: MessageStatus; t: MessageStatus; ok: boolean }>(sql`
    select f, t, ${sql.raw(allowedTransitionSql("f", "t"))} as ok
    from unnest(array[${list}]) f cross join unnest(array[${list}]) t`);
  expect(rows).toHaveLength(81);
  for (const { f, t, ok } of rows) expect({ f, t, ok }).toEqual({ f, t, ok: canTransition(f, t) });
});

describe("transition options", () => {
  it("counts one send attempt with a move to sending, and only then", async () => {
    const [queued, sending, scheduled] = await Promise.all([
      insertMessage(db, user.id, { status: "queued" }),
      insertMessage(db, user.id, { status: "sending", attempts: 2 }),
      insertMessage(db, user.id, { status: "scheduled" }),
    ]);
    await transitionMany(db, [
      { messageId: queued.id, to: "sending" },
      { messageId: sending.id, to: "accepted" },
      { messageId: scheduled.id, to: "queued" },
    ]);
    expect((await load(queued.id)).attempts).toBe(1);
    expect((await load(sending.id)).attempts).toBe(2);
    expect((await load(scheduled.id)).attempts).toBe(0);
    // A refused move to sending counts nothing.
    expect(await transition(db, { messageId: sending.id, to: "sending" })).toBeNull();
    expect((await load(sending.id)).attempts).toBe(2);
  });

  it("stores `at` in the status stamp while occurred_at stays server time", async () => {
    const message = await insertMessage(db, user.id, { status: "accepted" });
    const phoneTime = new Date("2030-01-02T03:04:05.678Z");
    const event = await transition(db, { messageId: message.id, to: "sent", at: phoneTime, payload: { partsCount: 2 } });
    expect((await load(message.id)).sentAt).toEqual(phoneTime);
    expect(event!.occurredAt.getTime()).toBeLessThan(phoneTime.getTime());
    expect(event!.payload).toEqual({ partsCount: 2 });
  });

  it("computes latency from creation, or from scheduled_at when that is later", async () => {
    const createdAt = new Date(Date.now() - 5_000);
    const plain = await insertMessage(db, user.id, { createdAt });
    const scheduled = await insertMessage(db, user.id, { createdAt, status: "scheduled", scheduledAt: new Date(Date.now() - 1_000) });
    const a = await transition(db, { messageId: plain.id, to: "sending" });
    const b = await transition(db, { messageId: scheduled.id, to: "sending" });
    expect(a!.latencyMs).toBeGreaterThanOrEqual(5_000);
    expect(a!.latencyMs).toBeLessThan(30_000);
    expect(b!.latencyMs).toBeGreaterThanOrEqual(1_000);
    expect(b!.latencyMs).toBeLessThan(a!.latencyMs!);
  });

  it("records the error on failure and keeps it when a later move omits one", async () => {
    const message = await insertMessage(db, user.id, { status: "sending" });
    await transition(db, { messageId: message.id, to: "failed", error: "invalid number" });
    expect((await load(message.id)).error).toBe("invalid number");
  });

  it("copies the message's sender into every event, and the error into a failed one, cut to 200 characters", async () => {
    const sender = await insertSender(db, user.id);
    const message = await insertMessage(db, user.id, { status: "sending", senderId: sender.id, error: "an old error" });
    const accepted = await transition(db, { messageId: message.id, to: "accepted" });
    expect(accepted).toMatchObject({ senderId: sender.id, error: null });
    const long = `${"é".repeat(150)}${"x".repeat(150)}`;
    const failed = await transition(db, { messageId: message.id, to: "failed", error: long });
    expect(failed).toMatchObject({ senderId: sender.id, error: long.slice(0, 200) });
    expect((await load(message.id)).error).toBe(long);
    const unrouted = await insertMessage(db, user.id, { status: "queued" });
    expect(await transition(db, { messageId: unrouted.id, to: "cancelled" })).toMatchObject({ senderId: null, error: null });
  });

  it("treats another user's message as unknown when userId is given", async () => {
    const other = await insertUser(db);
    const message = await insertMessage(db, other.id);
    expect(await transition(db, { messageId: message.id, to: "cancelled", userId: user.id })).toBeNull();
    expect((await load(message.id)).status).toBe("queued");
    expect(await transition(db, { messageId: message.id, to: "cancelled", userId: other.id })).not.toBeNull();
  });

  it("moves only from a pinned status: a claim that landed after the read is not overwritten", async () => {
    const message = await insertMessage(db, user.id, { status: "queued" });
    await transition(db, { messageId: message.id, to: "sending" }); // a worker's claim, after our read
    expect(await transition(db, { messageId: message.id, to: "expired", from: ["scheduled", "queued"] })).toBeNull();
    expect((await load(message.id)).status).toBe("sending");
    expect(await eventsOf(message.id)).toHaveLength(1);
    expect(await transition(db, { messageId: message.id, to: "accepted", from: ["sending"] })).not.toBeNull();
  });

  it("pins each item of a batch on its own, alongside unpinned items", async () => {
    const [queued, sending, free] = await Promise.all([
      insertMessage(db, user.id, { status: "queued" }),
      insertMessage(db, user.id, { status: "sending" }),
      insertMessage(db, user.id, { status: "sending" }),
    ]);
    const events = await transitionMany(db, [
      { messageId: queued.id, to: "expired", from: ["scheduled", "queued"] },
      { messageId: sending.id, to: "expired", from: ["scheduled", "queued"] },
      { messageId: free.id, to: "expired" },
    ]);
    expect(events.map((e) => e.messageId).sort()).toEqual([queued.id, free.id].sort());
    expect((await load(sending.id)).status).toBe("sending");
  });

  it("refuses an unknown status in `from`", async () => {
    const message = await insertMessage(db, user.id);
    await expect(transition(db, { messageId: message.id, to: "expired", from: ["queued", "nope" as MessageStatus] })).rejects.toThrow(TypeError);
  });

  it("returns null for unknown and malformed message ids", async () => {
    expect(await transition(db, { messageId: "0b1c2d3e-0000-4000-8000-000000000000", to: "sent" })).toBeNull();
    expect(await transition(db, { messageId: "not-a-uuid", to: "sent" })).toBeNull();
  });

  it("joins a caller's transaction: a rollback undoes both the move and the event", async () => {
    const message = await insertMessage(db, user.id);
    await expect(
      withTransaction(db, async (client) => {
        expect(await transition(client, { messageId: message.id, to: "sending" })).not.toBeNull();
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    expect(await load(message.id)).toEqual(message);
    expect(await eventsOf(message.id)).toEqual([]);
  });
});
