import { randomUUID } from "node:crypto";
import { createDb, inboundMessages, withTransaction, type DbHandle } from "@inboxerr/db";
import { createPrivateDatabase, createTestUser } from "@inboxerr/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimInboundEvents, markInboundPublished } from "./inbound";

// A database of its own: the claim reads (and stamps the unattributed of) every unpublished row.
let priv: Awaited<ReturnType<typeof createPrivateDatabase>>;
let h: DbHandle;
beforeAll(async () => {
  priv = await createPrivateDatabase();
  h = createDb(priv.url, { max: 4 });
});
afterAll(async () => {
  await h?.close();
  await priv?.drop();
});

async function inbound(userId: string | null, secondsAgo: number, text = "hi") {
  const at = new Date(Date.now() - secondsAgo * 1_000);
  const [row] = await h.db
    .insert(inboundMessages)
    .values({ userId, fromNumber: "+14155550100", text, deviceId: "device-1", envelopeId: randomUUID(), receivedAt: new Date(at.getTime() - 5_000), createdAt: at })
    .returning();
  return row!;
}

const published = async (ids: string[]) =>
  (await h.pool.query<{ id: string }>("select id from inbound_messages where id = any($1::uuid[]) and published_at is not null", [ids])).rows.map((r) => r.id).sort();

describe("claimInboundEvents", () => {
  it("turns attributed replies into inbound.received with the API's shape, stamps unattributed ones, and the rest only when asked", async () => {
    const a = await createTestUser(h.db);
    const b = await createTestUser(h.db);
    const fromA = await inbound(a.id, 30, "STOP");
    const nobody = await inbound(null, 20);
    const fromB = await inbound(b.id, 10, "yes");

    const events = await claimInboundEvents(h.db, 10);
    expect(events).toEqual([
      {
        id: fromA.id,
        type: "inbound.received",
        userId: a.id,
        occurredAt: fromA.createdAt,
        data: {
          id: fromA.id,
          from: "+14155550100",
          text: "STOP",
          deviceId: "device-1",
          userId: a.id,
          receivedAt: fromA.receivedAt.toISOString(),
          createdAt: fromA.createdAt.toISOString(),
        },
      },
      expect.objectContaining({ id: fromB.id, type: "inbound.received", userId: b.id, data: expect.objectContaining({ text: "yes" }) }),
    ]);
    // The unattributed reply goes nowhere and is stamped at once; the others wait for the caller.
    expect(await published([fromA.id, nobody.id, fromB.id])).toEqual([nobody.id]);
    expect(await claimInboundEvents(h.db, 10)).toEqual(events);

    await markInboundPublished(h.db, events.map((e) => e.id));
    expect(await claimInboundEvents(h.db, 10)).toEqual([]);
  });

  it("reads past a full page of unattributed replies to the attributed one behind it", async () => {
    const a = await createTestUser(h.db);
    const unattributed = [];
    for (let i = 0; i < 5; i++) unattributed.push(await inbound(null, 100 - i));
    const mine = await inbound(a.id, 50);
    expect((await claimInboundEvents(h.db, 2)).map((e) => e.id)).toEqual([mine.id]);
    expect(await published(unattributed.map((r) => r.id))).toHaveLength(5);
    await markInboundPublished(h.db, [mine.id]);
  });

  it("stamps nothing it handed out when the fan-out's transaction rolls back", async () => {
    const a = await createTestUser(h.db);
    const mine = await inbound(a.id, 5);
    await expect(
      withTransaction(h.db, async (tx) => {
        const events = await claimInboundEvents(tx, 10);
        expect(events.map((e) => e.id)).toEqual([mine.id]);
        await markInboundPublished(tx, [mine.id]);
        throw new Error("fan-out failed");
      }),
    ).rejects.toThrow("fan-out failed");
    expect((await claimInboundEvents(h.db, 10)).map((e) => e.id)).toEqual([mine.id]);
    await markInboundPublished(h.db, [mine.id]);
  });

  it("reads the unpublished rows through inbound_messages_unpublished_idx", async () => {
    const client = await h.pool.connect();
    try {
      await client.query("set enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(
        "explain select id from inbound_messages where published_at is null order by created_at limit 100 for update skip locked",
      );
      expect(rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain("inbound_messages_unpublished_idx");
    } finally {
      client.release();
    }
  });
});
