import { createDb, gatewayAccounts, senderEvents, senders, type DbHandle, type SenderEventType } from "@inboxerr/db";
import { createPrivateDatabase, createTestUser, uniqueSuffix } from "@inboxerr/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimSenderEvents, markSenderEventsPublished } from "./sender-events";

// A database of its own: the claim reads every unpublished row, whoever wrote it.
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

async function sender(ownerUserId: string | null) {
  const [account] = await h.db
    .insert(gatewayAccounts)
    .values({ ownerUserId, name: `acc-${uniqueSuffix()}`, baseUrl: "https://gw.test.inboxerr.dev", username: "u" })
    .returning();
  const [s] = await h.db.insert(senders).values({ accountId: account!.id, deviceId: `d-${uniqueSuffix()}` }).returning();
  return s!;
}

async function event(senderId: string, ownerUserId: string | null, type: SenderEventType, at: Date) {
  const [row] = await h.db
    .insert(senderEvents)
    .values({ senderId, ownerUserId, type, payload: { id: senderId, status: type.slice("sender.".length) }, occurredAt: at, createdAt: at })
    .returning();
  return row!;
}

describe("claimSenderEvents", () => {
  it("hands out unpublished sender events oldest first, with the owner (null for a shared sender) and the payload, until stamped", async () => {
    const owner = await createTestUser(h.db);
    const own = await sender(owner.id);
    const shared = await sender(null);
    const t0 = Date.now() - 60_000;
    const later = await event(own.id, owner.id, "sender.online", new Date(t0 + 2_000));
    const first = await event(own.id, owner.id, "sender.offline", new Date(t0));
    const sharedPause = await event(shared.id, null, "sender.paused", new Date(t0 + 1_000));

    const claimed = await claimSenderEvents(h.db, 10);
    expect(claimed).toEqual([
      { id: first.id, type: "sender.offline", userId: owner.id, occurredAt: first.occurredAt, data: { id: own.id, status: "offline" } },
      { id: sharedPause.id, type: "sender.paused", userId: null, occurredAt: sharedPause.occurredAt, data: { id: shared.id, status: "paused" } },
      { id: later.id, type: "sender.online", userId: owner.id, occurredAt: later.occurredAt, data: { id: own.id, status: "online" } },
    ]);

    // Not stamped yet (the fan-out may not have committed): the same events, same ids, again.
    expect(await claimSenderEvents(h.db, 2)).toEqual(claimed.slice(0, 2));

    await markSenderEventsPublished(h.db, [first.id, sharedPause.id]);
    expect((await claimSenderEvents(h.db, 10)).map((e) => e.id)).toEqual([later.id]);
    await markSenderEventsPublished(h.db, [later.id]);
    expect(await claimSenderEvents(h.db, 10)).toEqual([]);

    // Stamping keeps the first time it was published.
    const [row] = await h.pool.query<{ published_at: Date }>("select published_at from sender_events where id = $1", [first.id]).then((r) => r.rows);
    await markSenderEventsPublished(h.db, [first.id]);
    const [again] = await h.pool.query<{ published_at: Date }>("select published_at from sender_events where id = $1", [first.id]).then((r) => r.rows);
    expect(again!.published_at).toEqual(row!.published_at);
  });

  it("reads the unpublished rows through the partial index", async () => {
    const client = await h.pool.connect();
    try {
      // A tiny table would be read whole whatever the indexes: make scans unattractive to see the plan.
      await client.query("set enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(
        "explain select id from sender_events where published_at is null order by created_at limit 100 for update skip locked",
      );
      expect(rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain("sender_events_created_at_idx");
    } finally {
      client.release();
    }
  });
});
