import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertInbound } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

// Unattributed replies are shared by every admin, so each admin test reads its own day in
// 1983 (receivedAfter/receivedBefore), where no other test stores inbound messages.
const day = (d: number) => ({ start: new Date(Date.UTC(1983, 0, d)), query: `receivedAfter=1983-01-${String(d).padStart(2, "0")}T00:00:00Z&receivedBefore=1983-01-${String(d + 1).padStart(2, "0")}T00:00:00Z` });
const at = (start: Date, seconds: number) => new Date(start.getTime() + seconds * 1_000);
const list = (token: string, query: string) => api.call("GET", `/api/v1/inbound-messages?${query}`, { token });
const ids = (res: { body: { data: Array<{ id: string }> } }) => res.body.data.map((m) => m.id);

describe("GET /api/v1/inbound-messages", () => {
  it("shows a user only the replies attributed to them", async () => {
    const a = await api.user();
    const b = await api.user();
    const now = new Date();
    const [mine] = await insertInbound(api.db.db, a.user.id, [{ receivedAt: now, from: "+442079460958", text: "STOP" }]);
    await insertInbound(api.db.db, b.user.id, [{ receivedAt: now }]);
    await insertInbound(api.db.db, null, [{ receivedAt: now }]);

    const res = await list(a.token, "");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: [
        {
          id: mine!.id,
          from: "+442079460958",
          text: "STOP",
          deviceId: "device-1",
          userId: a.user.id,
          receivedAt: now.toISOString(),
          createdAt: mine!.createdAt.toISOString(),
        },
      ],
      nextCursor: null,
    });
  });

  it("shows an admin their own and the unattributed replies, never another user's", async () => {
    const { start, query } = day(3);
    const admin = await api.user("admin");
    const other = await api.user();
    const own = await insertInbound(api.db.db, admin.user.id, [{ receivedAt: at(start, 10) }]);
    const nobody = await insertInbound(api.db.db, null, [{ receivedAt: at(start, 20) }, { receivedAt: at(start, 5) }]);
    await insertInbound(api.db.db, other.user.id, [{ receivedAt: at(start, 15) }]);

    const res = await list(admin.token, query);
    expect(ids(res)).toEqual([nobody[0]!.id, own[0]!.id, nobody[1]!.id]);
    expect(res.body.data.map((m: { userId: string | null }) => m.userId)).toEqual([null, admin.user.id, null]);
    // The other user sees only theirs; the unattributed ones are not theirs.
    expect((await list(other.token, query)).body.data).toHaveLength(1);
  });

  it("pages newest first without skipping or repeating, even when replies share receivedAt", async () => {
    const { start, query } = day(5);
    const admin = await api.user("admin");
    // 3 distinct instants, many rows each, split between the admin and the unattributed pool.
    const when = (i: number) => ({ receivedAt: at(start, 60 * (i % 3)) });
    const rows = [
      ...(await insertInbound(api.db.db, admin.user.id, Array.from({ length: 12 }, (_, i) => when(i)))),
      ...(await insertInbound(api.db.db, null, Array.from({ length: 11 }, (_, i) => when(i)))),
    ];
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(admin.token, `${query}&limit=4${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(4);
      seen.push(...ids(res));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 20);

    expect(pages).toBe(6);
    const expected = [...rows]
      .sort((x, y) => y.receivedAt.getTime() - x.receivedAt.getTime() || (x.id < y.id ? 1 : -1))
      .map((r) => r.id);
    expect(seen).toEqual(expected);
  });

  it("filters by sender, normalised like a recipient, or as written when it is not a number", async () => {
    const { user, token } = await api.user();
    const now = new Date();
    const [uk] = await insertInbound(api.db.db, user.id, [{ receivedAt: now, from: "+442079460958" }]);
    const [us] = await insertInbound(api.db.db, user.id, [{ receivedAt: now, from: "+14155552671" }]);
    const [shortCode] = await insertInbound(api.db.db, user.id, [{ receivedAt: now, from: "INFO" }]);

    expect(ids(await list(token, `from=${encodeURIComponent("+44 20 7946 0958")}`))).toEqual([uk!.id]);
    expect(ids(await list(token, `from=${encodeURIComponent("(415) 555-2671")}`))).toEqual([us!.id]); // DEFAULT_PHONE_REGION=US
    expect(ids(await list(token, "from=INFO"))).toEqual([shortCode!.id]);
    expect(ids(await list(token, "from=%2B15550000000"))).toEqual([]);
  });

  it("answers 400 problem+json for a bad limit, window or cursor, and 401 without credentials", async () => {
    const { token } = await api.user();
    for (const q of ["limit=0", "limit=101", "receivedAfter=yesterday", "cursor=abc"]) {
      const res = await list(token, q);
      expect(res.status, q).toBe(400);
      expect(res.headers.get("content-type"), q).toMatch(/^application\/problem\+json/);
    }
    expect((await api.call("GET", "/api/v1/inbound-messages")).status).toBe(401);
  });
});
