import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plus } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";
import { insertFailureReasons, insertSender } from "../../testing/metrics-fixtures";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

// 1983: no other test writes metrics there (summary 1981, per sender 1982, the worker's 2024).
const T = "1983-05-01T12:00:00.000Z";
const failures = (token: string, query: string) => api.call("GET", `/api/v1/metrics/failures?${query}`, { token });

describe("GET /api/v1/metrics/failures", () => {
  it("counts failed messages per sender and reason over the window, most first", async () => {
    const { user, token } = await api.user();
    const [s1, s2] = [await insertSender(api.db.db, user.id), await insertSender(api.db.db, user.id)];
    await insertFailureReasons(api.db.db, user.id, [
      { at: T, reason: "RESULT_ERROR_LIMIT_EXCEEDED", count: 2, senderId: s1 },
      { at: plus(T, 1), reason: "RESULT_ERROR_LIMIT_EXCEEDED", count: 3, senderId: s1 },
      { at: T, reason: "RESULT_ERROR_NO_SERVICE", count: 1, senderId: s1 },
      { at: T, reason: "RESULT_ERROR_LIMIT_EXCEEDED", count: 4, senderId: s2 },
      { at: T, reason: "unknown", count: 1, senderId: null },
      { at: plus(T, 2), reason: "RESULT_ERROR_NO_SERVICE", count: 100, senderId: s2 }, // outside the window
      { at: plus(T, -1), reason: "RESULT_ERROR_NO_SERVICE", count: 100, senderId: s2 }, // before it
    ]);
    const window = `from=${T}&to=${plus(T, 2)}`;

    const res = await failures(token, window);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      from: T,
      to: plus(T, 2),
      userId: user.id,
      senderId: null,
      data: [
        { senderId: s1, reason: "RESULT_ERROR_LIMIT_EXCEEDED", count: 5 },
        { senderId: s2, reason: "RESULT_ERROR_LIMIT_EXCEEDED", count: 4 },
        // Ties by sender (the failures that named none sort as the nil UUID, first), then reason.
        { senderId: null, reason: "unknown", count: 1 },
        { senderId: s1, reason: "RESULT_ERROR_NO_SERVICE", count: 1 },
      ],
      truncated: false,
    });

    const one = await failures(token, `${window}&senderId=${s2.toUpperCase()}`);
    expect(one.body).toMatchObject({ senderId: s2, data: [{ senderId: s2, reason: "RESULT_ERROR_LIMIT_EXCEEDED", count: 4 }] });
  });

  it("reads only the caller's own failures; admins read every tenant or one", async () => {
    const a = await api.user();
    const b = await api.user();
    const admin = await api.user("admin");
    const t = plus(T, 24 * 60);
    const window = `from=${t}&to=${plus(t, 1)}`;
    const shared = await insertSender(api.db.db, null);
    await insertFailureReasons(api.db.db, a.user.id, [{ at: t, reason: "a's", count: 2, senderId: shared }]);
    await insertFailureReasons(api.db.db, b.user.id, [{ at: t, reason: "b's", count: 3, senderId: shared }]);

    expect((await failures(a.token, window)).body.data).toEqual([{ senderId: shared, reason: "a's", count: 2 }]);
    expect((await failures(b.token, `${window}&senderId=${shared}`)).body.data).toEqual([{ senderId: shared, reason: "b's", count: 3 }]);
    const all = await failures(admin.token, window);
    expect(all.body).toMatchObject({ userId: null });
    expect(all.body.data).toEqual(expect.arrayContaining([{ senderId: shared, reason: "a's", count: 2 }, { senderId: shared, reason: "b's", count: 3 }]));
    expect((await failures(admin.token, `${window}&userId=${b.user.id}`)).body.data).toEqual([{ senderId: shared, reason: "b's", count: 3 }]);

    // Naming another tenant, or another user's private sender, is 404 (admins included for the sender).
    const privateOfA = await insertSender(api.db.db, a.user.id);
    for (const [who, query, detail] of [
      [a, `${window}&userId=${b.user.id}`, "User not found"],
      [b, `${window}&senderId=${privateOfA}`, "Sender not found"],
      [admin, `${window}&senderId=${privateOfA}`, "Sender not found"],
      [a, `${window}&senderId=${crypto.randomUUID()}`, "Sender not found"],
    ] as const) {
      const res = await failures(who.token, query);
      expect(res.status, query).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, code: "not_found", detail });
    }
  });

  it("answers 400 problem+json naming the field for a bad window or senderId", async () => {
    const { token } = await api.user();
    for (const [query, path] of [
      [`from=${T}&to=${T}`, "from"],
      [`from=1980-01-01T00:00:00Z&to=${T}`, "to"],
      ["from=2026-01-01T00:00:00", "from"],
      ["to=yesterday", "to"],
      ["senderId=phone-1", "senderId"],
    ] as const) {
      const res = await failures(token, query);
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe("validation_failed");
      expect(res.body.errors.map((e: { path: string }) => e.path), query).toContain(path);
    }
    expect((await api.call("GET", "/api/v1/metrics/failures")).status).toBe(401);
  });
});
