import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertBuckets, plus } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";
import { insertFailureReasons, insertSender, insertSenderBuckets } from "../../testing/metrics-fixtures";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

// 1982: no other test writes metrics there (the summary tests use 1981, the worker's 2024).
const T = "1982-05-01T12:00:00.000Z";
const summary = (token: string, query: string) => api.call("GET", `/api/v1/metrics/summary?${query}`, { token });

describe("GET /api/v1/metrics/summary?senderId=", () => {
  it("restricts the counts to one sender, with the same shape as the whole summary", async () => {
    const { user, token } = await api.user();
    const [s1, s2] = [await insertSender(api.db.db, user.id), await insertSender(api.db.db, user.id)];
    const t = T;
    await insertBuckets(api.db.db, user.id, [
      { at: t, status: "delivered", count: 7, latencyMsSum: 7_000 },
      { at: t, status: "failed", count: 3 },
    ]);
    await insertSenderBuckets(api.db.db, user.id, s1, [
      { at: t, status: "delivered", count: 4, latencyMsSum: 2_000 },
      { at: t, status: "failed", count: 1 },
      { at: plus(t, 60), status: "delivered", count: 100 }, // outside the window
    ]);
    await insertSenderBuckets(api.db.db, user.id, s2, [{ at: t, status: "delivered", count: 3, latencyMsSum: 5_000 }]);
    await insertFailureReasons(api.db.db, user.id, [
      { at: t, reason: "RESULT_ERROR_NO_SERVICE", count: 1, senderId: s1 },
      { at: t, reason: "unknown", count: 2, senderId: null },
    ]);
    const window = `from=${t}&to=${plus(t, 60)}`;

    const one = await summary(token, `${window}&senderId=${s1.toUpperCase()}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({
      from: t,
      to: plus(t, 60),
      userId: user.id,
      senderId: s1,
      counts: { scheduled: 0, queued: 0, sending: 0, accepted: 0, sent: 0, delivered: 4, failed: 1, cancelled: 0, expired: 0 },
      deliveryRate: 0.8,
      avgDeliveryLatencyMs: 500,
      failureReasons: [{ reason: "RESULT_ERROR_NO_SERVICE", count: 1 }],
    });
    expect((await summary(token, `${window}&senderId=${s2}`)).body).toMatchObject({
      senderId: s2,
      counts: { delivered: 3, failed: 0 },
      deliveryRate: 1,
      failureReasons: [],
    });
    // Without senderId: every sender, and the failures that named none.
    expect((await summary(token, window)).body).toMatchObject({
      senderId: null,
      counts: { delivered: 7, failed: 3 },
      failureReasons: [
        { reason: "unknown", count: 2 },
        { reason: "RESULT_ERROR_NO_SERVICE", count: 1 },
      ],
    });
  });

  it("lists the 20 most frequent failure reasons, most frequent first, ties by reason", async () => {
    const { user, token } = await api.user();
    const t = plus(T, 24 * 60);
    // 25 reasons with counts 1..25, spread over two minutes and two rows each, so sums decide.
    const rows = Array.from({ length: 25 }, (_, i) => [
      { at: t, reason: `reason ${String(i).padStart(2, "0")}`, count: Math.ceil((i + 1) / 2) },
      { at: plus(t, 1), reason: `reason ${String(i).padStart(2, "0")}`, count: Math.floor((i + 1) / 2) },
    ]).flat();
    await insertFailureReasons(api.db.db, user.id, [...rows, { at: t, reason: "a tie", count: 25 }]);
    const res = await summary(token, `from=${t}&to=${plus(t, 2)}`);
    expect(res.status).toBe(200);
    const reasons = res.body.failureReasons as { reason: string; count: number }[];
    expect(reasons).toHaveLength(20);
    expect(reasons.slice(0, 3)).toEqual([
      { reason: "a tie", count: 25 },
      { reason: "reason 24", count: 25 },
      { reason: "reason 23", count: 24 },
    ]);
    expect(reasons.at(-1)).toEqual({ reason: "reason 06", count: 7 });
  });

  it("answers 404 for another user's private sender, admins included, and counts a shared sender per user", async () => {
    const a = await api.user();
    const b = await api.user();
    const admin = await api.user("admin");
    const t = plus(T, 2 * 24 * 60);
    const window = `from=${t}&to=${plus(t, 1)}`;
    const privateOfA = await insertSender(api.db.db, a.user.id);
    await insertSenderBuckets(api.db.db, a.user.id, privateOfA, [{ at: t, status: "delivered", count: 9 }]);
    for (const [who, query] of [
      [b, `${window}&senderId=${privateOfA}`],
      [admin, `${window}&senderId=${privateOfA}`],
      [admin, `${window}&senderId=${privateOfA}&userId=${a.user.id}`],
      [a, `${window}&senderId=${crypto.randomUUID()}`],
    ] as const) {
      const res = await summary(who.token, query);
      expect(res.status, query).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, code: "not_found", detail: "Sender not found" });
    }
    expect((await summary(a.token, `${window}&senderId=${privateOfA}`)).body.counts.delivered).toBe(9);

    const shared = await insertSender(api.db.db, null);
    await insertSenderBuckets(api.db.db, a.user.id, shared, [{ at: t, status: "delivered", count: 2 }]);
    await insertSenderBuckets(api.db.db, b.user.id, shared, [{ at: t, status: "delivered", count: 5 }]);
    await insertFailureReasons(api.db.db, b.user.id, [{ at: t, reason: "b's reason", count: 1, senderId: shared }]);
    const q = `${window}&senderId=${shared}`;
    expect((await summary(a.token, q)).body).toMatchObject({ userId: a.user.id, counts: { delivered: 2 }, failureReasons: [] });
    expect((await summary(b.token, q)).body).toMatchObject({ counts: { delivered: 5 }, failureReasons: [{ reason: "b's reason", count: 1 }] });
    expect((await summary(admin.token, q)).body).toMatchObject({ userId: null, counts: { delivered: 7 } });
    expect((await summary(admin.token, `${q}&userId=${b.user.id}`)).body.counts.delivered).toBe(5);
    // A user naming someone else while naming a shared sender is still 404 on the user.
    expect((await summary(a.token, `${q}&userId=${b.user.id}`)).body.detail).toBe("User not found");
  });

  it("answers 400 for a senderId that is not a UUID", async () => {
    const { token } = await api.user();
    const res = await summary(token, "senderId=phone-1");
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain("senderId");
  });
});
