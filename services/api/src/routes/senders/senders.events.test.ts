import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { senderEvents, senders } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

/** A sender on a new account of `token`'s user (or a shared one, for an admin). */
async function newSender(token: string, shared = false): Promise<string> {
  const account = await api.call("POST", "/api/v1/gateway-accounts", {
    token,
    body: { name: `ev-${uniqueSuffix()}`, baseUrl: "https://gw.example/3rdparty/v1", username: "u", password: "p", shared },
  });
  expect(account.status).toBe(201);
  const [sender] = await api.db.db.insert(senders).values({ accountId: account.body.id, deviceId: `d-${uniqueSuffix()}`, simNumber: 1 }).returning();
  return sender!.id;
}

const changedAt = async (id: string) =>
  (await api.db.db.select({ at: senders.statusChangedAt }).from(senders).where(eq(senders.id, id)))[0]!.at;
const eventRows = (id: string) => api.db.db.select().from(senderEvents).where(eq(senderEvents.senderId, id));

describe("PATCH /api/v1/senders/:id status", () => {
  it("records a change of status and writes sender.paused with the sender as GET shows it", async () => {
    const { user, token } = await api.user();
    const id = await newSender(token);
    const path = `/api/v1/senders/${id}`;
    expect(await changedAt(id)).toBeNull();

    // No change of status: nothing recorded.
    expect((await api.call("PATCH", path, { token, body: { label: "desk", status: "active" } })).status).toBe(200);
    expect(await changedAt(id)).toBeNull();
    expect(await eventRows(id)).toEqual([]);

    const pause = await api.call("PATCH", path, { token, body: { status: "paused", pausedReason: "carrier warning" } });
    expect(pause.status).toBe(200);
    const pausedAt = await changedAt(id);
    expect(pausedAt).toBeInstanceOf(Date);
    const [event, ...more] = await eventRows(id);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ type: "sender.paused", ownerUserId: user.id, publishedAt: null });
    expect(event!.payload).toEqual(pause.body);
    expect(event!.payload).toEqual((await api.call("GET", path, { token })).body);
    expect(event!.payload).toMatchObject({ status: "paused", pausedReason: "carrier warning", label: "desk" });

    // Paused again with another reason, or other fields changed: still one pause.
    expect((await api.call("PATCH", path, { token, body: { status: "paused", pausedReason: "still" } })).body.pausedReason).toBe("still");
    expect((await api.call("PATCH", path, { token, body: { dailyCap: 5 } })).status).toBe(200);
    expect(await changedAt(id)).toEqual(pausedAt);
    expect(await eventRows(id)).toHaveLength(1);

    // Resuming restarts the automatic-pause count and writes no event.
    expect((await api.call("PATCH", path, { token, body: { status: "active" } })).body.status).toBe("active");
    expect((await changedAt(id))!.getTime()).toBeGreaterThan(pausedAt!.getTime());
    expect(await eventRows(id)).toHaveLength(1);
  });

  it("writes a shared sender's pause with no owner, and nothing for a refused change", async () => {
    const admin = await api.user("admin");
    const user = await api.user();
    const id = await newSender(admin.token, true);
    expect((await api.call("PATCH", `/api/v1/senders/${id}`, { token: user.token, body: { status: "paused" } })).status).toBe(403);
    expect(await eventRows(id)).toEqual([]);
    expect((await api.call("PATCH", `/api/v1/senders/${id}`, { token: admin.token, body: { status: "paused" } })).status).toBe(200);
    expect(await eventRows(id)).toEqual([expect.objectContaining({ type: "sender.paused", ownerUserId: null })]);

    await api.db.db.update(senders).set({ status: "retired" }).where(eq(senders.id, id));
    const retired = await api.call("PATCH", `/api/v1/senders/${id}`, { token: admin.token, body: { status: "paused" } });
    expect(retired.status).toBe(409);
    expect(await eventRows(id)).toHaveLength(1);
  });

  it("pauses an offline sender with an event, and resumes it", async () => {
    const { token } = await api.user();
    const id = await newSender(token);
    await api.db.db.update(senders).set({ status: "offline" }).where(eq(senders.id, id));
    expect((await api.call("PATCH", `/api/v1/senders/${id}`, { token, body: { status: "paused" } })).body.status).toBe("paused");
    expect(await eventRows(id)).toHaveLength(1);
  });
});

describe("GET /api/v1/senders/:id/events", () => {
  it("lists the sender's events newest first, page by page", async () => {
    const { user, token } = await api.user();
    const id = await newSender(token);
    const other = await newSender(token);
    const payload = (await api.call("GET", `/api/v1/senders/${id}`, { token })).body;
    const base = Date.parse("2026-01-01T00:00:00.000Z");
    // Two at the same instant: the id orders them, and no page loses or repeats one.
    const at = [0, 1, 2, 2, 3].map((s) => new Date(base + s * 1000));
    const types = ["sender.offline", "sender.online", "sender.paused", "sender.offline", "sender.online"] as const;
    const rows = await api.db.db
      .insert(senderEvents)
      .values(at.map((occurredAt, i) => ({ senderId: id, ownerUserId: user.id, type: types[i]!, payload, occurredAt })))
      .returning();
    await api.db.db.insert(senderEvents).values({ senderId: other, ownerUserId: user.id, type: "sender.offline", payload, occurredAt: new Date(base + 9000) });

    const seen: Array<{ id: string; occurredAt: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.call("GET", `/api/v1/senders/${id}/events?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token });
      expect(res.status).toBe(200);
      seen.push(...res.body.data);
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    const expected = [...rows].sort((a, b) => b.occurredAt.getTime() - a.occurredAt.getTime() || (a.id < b.id ? 1 : -1));
    expect(seen.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    expect(seen[0]).toEqual({ id: expected[0]!.id, senderId: id, type: "sender.online", sender: payload, occurredAt: "2026-01-01T00:00:03.000Z" });

    const all = await api.call("GET", `/api/v1/senders/${id}/events`, { token });
    expect(all.body.data).toHaveLength(5);
    expect(all.body.nextCursor).toBeNull();
    expect((await api.call("GET", `/api/v1/senders/${other}/events`, { token })).body.data).toHaveLength(1);
  });

  it("shows a shared sender's events to every user and hides a private one's from others, admins included", async () => {
    const a = await api.user();
    const b = await api.user();
    const admin = await api.user("admin");
    const shared = await newSender(admin.token, true);
    await api.call("PATCH", `/api/v1/senders/${shared}`, { token: admin.token, body: { status: "paused" } });
    expect((await api.call("GET", `/api/v1/senders/${shared}/events`, { token: b.token })).body.data).toEqual([
      expect.objectContaining({ type: "sender.paused", sender: expect.objectContaining({ id: shared, shared: true }) }),
    ]);

    const privateOfA = await newSender(a.token);
    for (const [who, id] of [
      [b, privateOfA],
      [admin, privateOfA],
      [a, crypto.randomUUID()],
      [a, "not-a-uuid"],
    ] as const) {
      const res = await api.call("GET", `/api/v1/senders/${id}/events`, { token: who.token });
      expect(res.status, id).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, code: "not_found", detail: "Sender not found" });
    }
  });

  it("answers 400 problem+json for a bad limit or cursor", async () => {
    const { token } = await api.user();
    const id = await newSender(token);
    const notOurs = Buffer.from("yesterday|someone").toString("base64url");
    for (const [query, path] of [
      ["limit=0", "limit"],
      ["limit=101", "limit"],
      ["limit=many", "limit"],
      [`cursor=${notOurs}`, "cursor"],
    ] as const) {
      const res = await api.call("GET", `/api/v1/senders/${id}/events?${query}`, { token });
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { path: string }) => e.path), query).toContain(path);
    }
  });
});
