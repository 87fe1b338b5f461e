import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertMessages } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

async function allPages(token: string, query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`;
    const res = await api.call("GET", `/api/v1/messages?${q}`, { token });
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    ids.push(...res.body.data.map((m: { id: string }) => m.id));
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return { ids, pages };
}

describe("GET /api/v1/messages", () => {
  it("pages through every message exactly once, newest first, even when rows share created_at", async () => {
    const { token, user } = await api.user();
    // One bulk = one transaction = one created_at for all 230 rows: only the id breaks ties.
    const bulk = await api.call("POST", "/api/v1/messages/bulk", {
      token,
      body: { text: "hi", messages: Array.from({ length: 230 }, (_, i) => ({ to: `+1415555${String(i).padStart(4, "0")}` })) },
    });
    const older = await insertMessages(api.db.db, user.id, 20, { createdAt: new Date(Date.now() - 60_000) });
    const { ids, pages } = await allPages(token, "", 17);
    expect(pages).toBe(Math.ceil(250 / 17));
    expect(new Set(ids).size).toBe(250);
    const expected = new Set([...bulk.body.messages.map((m: { id: string }) => m.id), ...older.map((m) => m.id)]);
    expect(new Set(ids)).toEqual(expected);
    // Newest first: the older fixture rows come last.
    expect(new Set(ids.slice(230))).toEqual(new Set(older.map((m) => m.id)));
  });

  it("defaults to 50 per page and refuses a limit above 100", async () => {
    const { token, user } = await api.user();
    await insertMessages(api.db.db, user.id, 60);
    const res = await api.call("GET", "/api/v1/messages", { token });
    expect(res.body.data).toHaveLength(50);
    expect(res.body.nextCursor).toEqual(expect.any(String));
    expect((await api.call("GET", "/api/v1/messages?limit=101", { token })).status).toBe(400);
  });

  it("filters by status, normalised phone, batch and creation window", async () => {
    const { token, user } = await api.user();
    const now = Date.now();
    const [old] = await insertMessages(api.db.db, user.id, 1, { to: "+442079460958", createdAt: new Date(now - 3_600_000), status: "delivered" });
    const single = await api.call("POST", "/api/v1/messages", { token, body: { to: "+442079460958", text: "x" } });
    const bulk = await api.call("POST", "/api/v1/messages/bulk", { token, body: { text: "y", messages: [{ to: "+14155552671" }, { to: "+14155552672" }] } });
    const ids = async (q: string) => {
      const res = await api.call("GET", `/api/v1/messages?${q}`, { token });
      expect(res.status).toBe(200);
      return res.body.data.map((m: { id: string }) => m.id).sort();
    };
    expect(await ids("status=delivered")).toEqual([old!.id]);
    expect(await ids(`phone=${encodeURIComponent("+44 20 7946 0958")}`)).toEqual([old!.id, single.body.id].sort());
    expect(await ids(`batchId=${bulk.body.batchId}`)).toEqual(bulk.body.messages.map((m: { id: string }) => m.id).sort());
    const cut = new Date(now - 60_000).toISOString();
    expect(await ids(`createdBefore=${cut}`)).toEqual([old!.id]);
    expect((await ids(`createdAfter=${cut}`)).length).toBe(3);
  });

  it("answers 400 for a bad filter or a forged cursor", async () => {
    const { token } = await api.user();
    for (const q of ["status=lost", "phone=nope", "createdAfter=yesterday", "cursor=abc", "batchId=1"]) {
      const res = await api.call("GET", `/api/v1/messages?${q}`, { token });
      expect(res.status, q).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
  });
});
