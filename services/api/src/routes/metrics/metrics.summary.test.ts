import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertBuckets, plus } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

// Admin-wide sums count every tenant, so each test reads its own window in 1981, where no
// other test writes buckets (the metrics worker's tests use 2024, live traffic uses now).
const T = "1981-03-01T12:00:00.000Z";
const zeros = { scheduled: 0, queued: 0, sending: 0, accepted: 0, sent: 0, delivered: 0, failed: 0, cancelled: 0, expired: 0 };

const summary = (token: string, query: string) => api.call("GET", `/api/v1/metrics/summary?${query}`, { token });

describe("GET /api/v1/metrics/summary", () => {
  it("counts the transitions in [from, to) per status, with the delivery rate and mean delivery latency", async () => {
    const { user, token } = await api.user();
    await insertBuckets(api.db.db, user.id, [
      { at: plus(T, -1), status: "sent", count: 100 }, // before from
      { at: T, status: "sent", count: 10 }, // from is inclusive
      { at: plus(T, 59), status: "sent", count: 5 },
      { at: plus(T, 1), status: "accepted", count: 2 },
      { at: plus(T, 1), status: "delivered", count: 6, latencyMsSum: 6 * 2_000 },
      { at: plus(T, 120), status: "delivered", count: 3, latencyMsSum: 3 * 4_000 },
      { at: plus(T, 180), status: "failed", count: 3 },
      { at: plus(T, 240), status: "delivered", count: 50 }, // to is exclusive
    ]);
    const res = await summary(token, `from=${T}&to=${plus(T, 240)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      from: T,
      to: plus(T, 240),
      userId: user.id,
      counts: { ...zeros, accepted: 2, sent: 15, delivered: 9, failed: 3 },
      deliveryRate: 0.75,
      avgDeliveryLatencyMs: Math.round(24_000 / 9),
      senderId: null,
      failureReasons: [],
    });
  });

  it("counts a minute bucket only when it starts inside the window", async () => {
    const { user, token } = await api.user();
    const t = "1981-03-02T12:00:00.000Z";
    await insertBuckets(api.db.db, user.id, [
      { at: t, status: "sent", count: 1 },
      { at: plus(t, 1), status: "sent", count: 2 },
      { at: plus(t, 2), status: "sent", count: 4 },
    ]);
    // from 12:00:30 skips the 12:00 bucket; to 12:02:30 keeps the 12:02 bucket; offsets are honoured.
    const mid = (iso: string) => new Date(Date.parse(iso) + 30_000).toISOString();
    expect((await summary(token, `from=${mid(t)}&to=${mid(plus(t, 2))}`)).body.counts.sent).toBe(6);
    const local = encodeURIComponent("1981-03-02T13:01:00+01:00"); // = 12:01Z
    expect((await summary(token, `from=${local}&to=${plus(t, 3)}`)).body).toMatchObject({
      from: plus(t, 1),
      counts: { sent: 6 },
    });
  });

  it("defaults to the last 24 hours", async () => {
    const { user, token } = await api.user();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    await insertBuckets(api.db.db, user.id, [
      { at: new Date(minute - 60 * 60_000).toISOString(), status: "delivered", count: 7 },
      { at: new Date(minute - 25 * 60 * 60_000).toISOString(), status: "delivered", count: 1_000 },
    ]);
    const before = Date.now();
    const res = await summary(token, "");
    expect(res.status).toBe(200);
    expect(res.body.counts.delivered).toBe(7);
    expect(Date.parse(res.body.to)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(res.body.to) - Date.parse(res.body.from)).toBe(24 * 3_600_000);
  });

  it("reports deliveryRate 0 when all failed, and null rate and latency when nothing finished", async () => {
    const { user, token } = await api.user();
    const t = plus(T, 2 * 24 * 60);
    await insertBuckets(api.db.db, user.id, [
      { at: t, status: "sent", count: 4 },
      { at: plus(t, 10), status: "failed", count: 2 },
    ]);
    expect((await summary(token, `from=${t}&to=${plus(t, 10)}`)).body).toMatchObject({ deliveryRate: null, avgDeliveryLatencyMs: null });
    expect((await summary(token, `from=${t}&to=${plus(t, 11)}`)).body).toMatchObject({ deliveryRate: 0, avgDeliveryLatencyMs: null });
  });

  it("shows a user only their own metrics and answers another tenant's id like an unknown one: 404", async () => {
    const a = await api.user();
    const b = await api.user();
    const t = plus(T, 3 * 24 * 60);
    await insertBuckets(api.db.db, a.user.id, [{ at: t, status: "delivered", count: 1 }]);
    await insertBuckets(api.db.db, b.user.id, [{ at: t, status: "delivered", count: 500 }]);
    const window = `from=${t}&to=${plus(t, 1)}`;

    expect((await summary(a.token, window)).body).toMatchObject({ userId: a.user.id, counts: { delivered: 1 } });
    expect((await summary(a.token, `${window}&userId=${a.user.id.toUpperCase()}`)).body.counts.delivered).toBe(1);
    for (const other of [b.user.id, crypto.randomUUID()]) {
      const res = await summary(a.token, `${window}&userId=${other}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, code: "not_found", detail: "User not found" });
    }
  });

  it("gives an admin every tenant summed, one tenant with userId, and 404 for an unknown user", async () => {
    const a = await api.user();
    const b = await api.user();
    const admin = await api.user("admin");
    const t = plus(T, 4 * 24 * 60);
    await insertBuckets(api.db.db, a.user.id, [
      { at: t, status: "delivered", count: 3, latencyMsSum: 3_000 },
      { at: t, status: "failed", count: 1 },
    ]);
    await insertBuckets(api.db.db, b.user.id, [{ at: plus(t, 5), status: "delivered", count: 5, latencyMsSum: 15_000 }]);
    const window = `from=${t}&to=${plus(t, 60)}`;

    expect((await summary(admin.token, window)).body).toMatchObject({
      userId: null,
      counts: { delivered: 8, failed: 1 },
      deliveryRate: 8 / 9,
      avgDeliveryLatencyMs: 2_250,
    });
    expect((await summary(admin.token, `${window}&userId=${b.user.id}`)).body).toMatchObject({
      userId: b.user.id,
      counts: { delivered: 5, failed: 0 },
      deliveryRate: 1,
    });
    expect((await summary(admin.token, `${window}&userId=${admin.user.id}`)).body.counts.delivered).toBe(0);
    expect((await summary(admin.token, `${window}&userId=${crypto.randomUUID()}`)).status).toBe(404);
  });

  it("answers 400 problem+json for bad bounds or ids, and 401 without credentials", async () => {
    const { token } = await api.user();
    const cases: Array<[string, string]> = [
      ["from=yesterday", "from"],
      ["to=2025-01-01T00:00:00", "to"], // no offset: ambiguous
      [`from=${T}&to=${T}`, "from"],
      [`from=${plus(T, 1)}&to=${T}`, "from"],
      [`to=${T}&from=${plus(T, -367 * 24 * 60)}`, "to"],
      ["userId=42", "userId"],
    ];
    for (const [q, path] of cases) {
      const res = await summary(token, q);
      expect(res.status, q).toBe(400);
      expect(res.headers.get("content-type"), q).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { path: string }) => e.path), q).toContain(path);
    }
    expect((await summary(token, `from=${plus(T, -366 * 24 * 60)}&to=${T}`)).status).toBe(200);
    expect((await api.call("GET", "/api/v1/metrics/summary")).status).toBe(401);
  });
});
