import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertBuckets, plus } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

// Admin-wide series count every tenant, so each test reads its own window in 1982, where no
// other test writes buckets.
const T = "1982-05-10T00:00:00.000Z";
const series = (token: string, query: string) => api.call("GET", `/api/v1/metrics/timeseries?${query}`, { token });
const bucket = (start: string, sent = 0, delivered = 0, failed = 0) => ({ start, sent, delivered, failed });

describe("GET /api/v1/metrics/timeseries", () => {
  it("rolls minute buckets up into UTC minutes, hours and days, every bucket present", async () => {
    const { user, token } = await api.user();
    await insertBuckets(api.db.db, user.id, [
      { at: plus(T, 0), status: "sent", count: 3 },
      { at: plus(T, 2), status: "sent", count: 1 },
      { at: plus(T, 2), status: "delivered", count: 2 },
      { at: plus(T, 59), status: "failed", count: 1 },
      { at: plus(T, 60 + 7), status: "delivered", count: 4 },
      { at: plus(T, 60 + 7), status: "accepted", count: 9 }, // not part of the series
      { at: plus(T, 23 * 60 + 59), status: "sent", count: 5 },
      { at: plus(T, 24 * 60 + 30), status: "sent", count: 6 },
    ]);

    const minutes = await series(token, `granularity=minute&from=${T}&to=${plus(T, 4)}`);
    expect(minutes.status).toBe(200);
    expect(minutes.body).toEqual({
      granularity: "minute",
      from: T,
      to: plus(T, 4),
      userId: user.id,
      buckets: [bucket(T, 3), bucket(plus(T, 1)), bucket(plus(T, 2), 1, 2), bucket(plus(T, 3))],
    });

    const hours = await series(token, `granularity=hour&from=${T}&to=${plus(T, 3 * 60)}`);
    expect(hours.body.buckets).toEqual([bucket(T, 4, 2, 1), bucket(plus(T, 60), 0, 4), bucket(plus(T, 120))]);

    const days = await series(token, `granularity=day&from=${T}&to=${plus(T, 3 * 24 * 60)}`);
    expect(days.body.buckets).toEqual([bucket(T, 9, 6, 1), bucket(plus(T, 24 * 60), 6), bucket(plus(T, 48 * 60))]);
  });

  it("floors the first bucket to the granularity and adds up to the summary of the same window", async () => {
    const { user, token } = await api.user();
    const t = plus(T, 7 * 24 * 60);
    await insertBuckets(api.db.db, user.id, [
      { at: plus(t, 10), status: "sent", count: 100 }, // before from (00:30)
      { at: plus(t, 45), status: "sent", count: 1 },
      { at: plus(t, 90), status: "delivered", count: 2 },
      { at: plus(t, 140), status: "failed", count: 3 },
      { at: plus(t, 160), status: "failed", count: 100 }, // after to (02:30)
    ]);
    const window = `from=${plus(t, 30)}&to=${plus(t, 150)}`;
    const res = await series(token, `granularity=hour&${window}`);
    expect(res.body.buckets).toEqual([bucket(t, 1), bucket(plus(t, 60), 0, 2), bucket(plus(t, 120), 0, 0, 3)]);
    const sum = await api.call("GET", `/api/v1/metrics/summary?${window}`, { token });
    expect(sum.body.counts).toMatchObject({ sent: 1, delivered: 2, failed: 3 });
  });

  it("defaults to hourly buckets: the 24 whole hours ending with the current one", async () => {
    const { user, token } = await api.user();
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    await insertBuckets(api.db.db, user.id, [{ at: new Date(hour - 3_600_000).toISOString(), status: "sent", count: 2 }]);
    const res = await series(token, "");
    expect(res.status).toBe(200);
    expect(res.body.granularity).toBe("hour");
    expect(res.body.buckets).toHaveLength(24);
    expect(Date.parse(res.body.from) % 3_600_000).toBe(0);
    expect(res.body.buckets.find((b: { start: string }) => b.start === new Date(hour - 3_600_000).toISOString())).toMatchObject({ sent: 2 });
  });

  it("picks a default window that suits the granularity: 60 minutes, 30 days", async () => {
    const { token } = await api.user();
    const to = "2026-03-04T05:06:07.000Z";
    const minutes = await series(token, `granularity=minute&to=${to}`);
    expect(minutes.body.buckets).toHaveLength(60);
    expect(minutes.body.buckets.at(-1).start).toBe("2026-03-04T05:06:00.000Z");
    const days = await series(token, `granularity=day&to=${to}`);
    expect(days.body.buckets).toHaveLength(30);
    expect(days.body.buckets[0].start).toBe("2026-02-03T00:00:00.000Z");
    // An explicit window is taken as given.
    expect((await series(token, `granularity=minute&from=2026-03-04T03:00:00Z&to=${to}`)).body.buckets).toHaveLength(127);
  });

  it("keeps tenants apart: 404 for another user's id, all tenants or one for an admin", async () => {
    const a = await api.user();
    const b = await api.user();
    const admin = await api.user("admin");
    const t = plus(T, 14 * 24 * 60);
    await insertBuckets(api.db.db, a.user.id, [{ at: t, status: "delivered", count: 1 }]);
    await insertBuckets(api.db.db, b.user.id, [{ at: plus(t, 1), status: "delivered", count: 10 }]);
    const window = `granularity=hour&from=${t}&to=${plus(t, 60)}`;

    expect((await series(a.token, window)).body.buckets).toEqual([bucket(t, 0, 1)]);
    const denied = await series(a.token, `${window}&userId=${b.user.id}`);
    expect(denied.status).toBe(404);
    expect(denied.body).toMatchObject({ code: "not_found" });
    expect(denied.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect((await series(admin.token, window)).body).toMatchObject({ userId: null, buckets: [bucket(t, 0, 11)] });
    expect((await series(admin.token, `${window}&userId=${b.user.id}`)).body).toMatchObject({ userId: b.user.id, buckets: [bucket(t, 0, 10)] });
  });

  it("answers 400 for an unknown granularity or more than 1,500 buckets", async () => {
    const { token } = await api.user();
    const week = await series(token, "granularity=week");
    expect(week.status).toBe(400);
    expect(week.headers.get("content-type")).toMatch(/^application\/problem\+json/);

    const tooMany = await series(token, `granularity=minute&from=${T}&to=${plus(T, 1_501)}`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors).toEqual([expect.objectContaining({ path: "granularity", detail: expect.stringMatching(/coarser/) })]);
    expect((await series(token, `granularity=minute&from=${T}&to=${plus(T, 1_500)}`)).body.buckets).toHaveLength(1_500);
    expect((await series(token, `granularity=day&from=${T}&to=${plus(T, 366 * 24 * 60)}`)).body.buckets).toHaveLength(366);
    expect((await series(token, `granularity=hour&from=${T}&to=${T}`)).status).toBe(400);
  });
});
