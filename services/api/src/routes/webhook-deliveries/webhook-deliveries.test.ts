import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookDeliveries } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { insertDeliveries } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

async function endpointOfNewUser() {
  const { token, user } = await api.user();
  const res = await api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: `https://hooks.example.com/${uniqueSuffix()}` } });
  expect(res.status).toBe(201);
  return { token, endpoint: { id: res.body.id as string, userId: user.id } };
}

const rowsOf = (ids: string[]) => api.db.db.select().from(webhookDeliveries).where(inArray(webhookDeliveries.id, ids));
const at = (iso: string) => new Date(iso);

describe("POST /api/v1/webhook-endpoints/{id}/test", () => {
  it("inserts a webhook.test delivery due now, which GET /webhook-deliveries/{id} shows with its body", async () => {
    const { token, endpoint } = await endpointOfNewUser();
    const before = Date.now();
    const res = await api.call("POST", `/api/v1/webhook-endpoints/${endpoint.id}/test`, { token });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ deliveryId: expect.any(String) });

    const [row] = await rowsOf([res.body.deliveryId]);
    expect(row).toMatchObject({ endpointId: endpoint.id, userId: endpoint.userId, type: "webhook.test", status: "pending", attempts: 0, leasedUntil: null });
    expect(row!.nextAttemptAt!.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(row!.payload).toEqual({
      type: "webhook.test",
      timestamp: expect.any(String),
      data: { endpointId: endpoint.id, message: expect.any(String) },
    });
    expect(Date.parse((row!.payload as { timestamp: string }).timestamp)).toBeGreaterThanOrEqual(before - 1_000);

    const got = await api.call("GET", `/api/v1/webhook-deliveries/${row!.id}`, { token });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: row!.id, endpointId: endpoint.id, eventId: row!.eventId, type: "webhook.test", status: "pending", payload: row!.payload, attempts: [] });

    // A second test is a second event, not the same one again.
    const second = await api.call("POST", `/api/v1/webhook-endpoints/${endpoint.id}/test`, { token });
    const [other] = await rowsOf([second.body.deliveryId]);
    expect(other!.eventId).not.toBe(row!.eventId);
  });

  it("is 409 while the endpoint is disabled, inserting nothing", async () => {
    const { token, endpoint } = await endpointOfNewUser();
    await api.call("PATCH", `/api/v1/webhook-endpoints/${endpoint.id}`, { token, body: { status: "disabled" } });
    const res = await api.call("POST", `/api/v1/webhook-endpoints/${endpoint.id}/test`, { token });
    expect(res.status).toBe(409);
    expect(await api.db.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id))).toEqual([]);
  });
});

describe("GET /api/v1/webhook-endpoints/{id}/deliveries and GET /api/v1/webhook-deliveries/{id}", () => {
  it("lists newest first with filters and a cursor, and shows one delivery with its attempts", async () => {
    const { token, endpoint } = await endpointOfNewUser();
    const rows = await insertDeliveries(api.db.db, endpoint, [
      { createdAt: at("2026-03-01T10:00:00.000001Z"), status: "succeeded", type: "message.sent", attempts: [{ statusCode: 200, response: "ok" }] },
      { createdAt: at("2026-03-01T10:00:01Z"), status: "failed", type: "message.delivered", attempts: [{ statusCode: 500, response: "boom" }, { statusCode: null, error: "timeout after 10000 ms" }] },
      { createdAt: at("2026-03-01T10:00:02Z"), status: "exhausted", type: "message.delivered" },
      { createdAt: at("2026-03-01T10:00:03Z"), status: "succeeded", type: "message.failed" },
    ]);
    const ids = (body: { data: { id: string }[] }) => body.data.map((d) => d.id);
    const list = (query = "") => api.call("GET", `/api/v1/webhook-endpoints/${endpoint.id}/deliveries${query}`, { token });

    const all = await list();
    expect(all.status).toBe(200);
    expect(ids(all.body)).toEqual(rows.map((r) => r.id).reverse());
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.data[2]).toEqual({
      id: rows[1]!.id,
      endpointId: endpoint.id,
      eventId: rows[1]!.eventId,
      type: "message.delivered",
      status: "failed",
      attempts: 2,
      nextAttemptAt: expect.any(String),
      lastStatus: null,
      lastError: "timeout after 10000 ms",
      lastResponse: null,
      createdAt: "2026-03-01T10:00:01.000Z",
      deliveredAt: null,
      updatedAt: expect.any(String),
    });
    expect(all.body.data[0]).not.toHaveProperty("payload");

    expect(ids((await list("?status=succeeded")).body)).toEqual([rows[3]!.id, rows[0]!.id]);
    expect(ids((await list("?type=message.delivered")).body)).toEqual([rows[2]!.id, rows[1]!.id]);
    expect(ids((await list(`?eventId=${rows[0]!.eventId}`)).body)).toEqual([rows[0]!.id]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...ids(page.body));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids(all.body));

    for (const bad of ["?status=bogus", "?type=message.bounced", "?eventId=x", "?limit=0", "?limit=101", "?cursor=bogus"]) {
      const res = await list(bad);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }

    const detail = await api.call("GET", `/api/v1/webhook-deliveries/${rows[1]!.id}`, { token });
    expect(detail.status).toBe(200);
    expect(detail.body).toEqual({
      ...all.body.data[2],
      payload: rows[1]!.payload,
      attempts: [
        { n: 1, statusCode: 500, error: null, response: "boom", durationMs: 12, createdAt: expect.any(String) },
        { n: 2, statusCode: null, error: "timeout after 10000 ms", response: null, durationMs: 12, createdAt: expect.any(String) },
      ],
    });
  });
});

describe("replay and retry", () => {
  it("replay sets back to pending, due now and unleased, exactly the deliveries created in [since, until), keeping their ids", async () => {
    const { token, endpoint } = await endpointOfNewUser();
    const other = await endpointOfNewUser();
    const times = ["2026-03-01T09:59:59.999999Z", "2026-03-01T10:00:00Z", "2026-03-01T10:30:00Z", "2026-03-01T10:59:59.999999Z", "2026-03-01T11:00:00Z"];
    const rows = await insertDeliveries(
      api.db.db,
      endpoint,
      times.map((t, i) => ({ createdAt: at(t), status: i % 2 ? "exhausted" : "succeeded", attempts: [{ statusCode: 200 }] })),
    );
    // Microseconds matter at the edges: Postgres keeps them, so the fixture must too.
    await Promise.all(rows.map((r, i) => api.db.pool.query("update webhook_deliveries set created_at = $1 where id = $2", [times[i], r.id])));
    const [foreign] = await insertDeliveries(api.db.db, other.endpoint, [{ createdAt: at("2026-03-01T10:30:00Z") }]);
    const untouched = await rowsOf([rows[0]!.id, rows[3]!.id, rows[4]!.id, foreign!.id]);

    const res = await api.call("POST", `/api/v1/webhook-endpoints/${endpoint.id}/replay`, {
      token,
      body: { since: "2026-03-01T10:00:00Z", until: "2026-03-01T10:59:59.999999Z" },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ replayed: 2 });
    for (const row of await rowsOf([rows[1]!.id, rows[2]!.id])) {
      expect(row).toMatchObject({ status: "pending", leasedUntil: null, attempts: 1 });
      expect(Math.abs(row.nextAttemptAt!.getTime() - Date.now())).toBeLessThan(5_000);
    }
    expect(await rowsOf(untouched.map((r) => r.id))).toEqual(expect.arrayContaining(untouched));

    // No `until`: up to now.
    const open = await api.call("POST", `/api/v1/webhook-endpoints/${endpoint.id}/replay`, { token, body: { since: "2026-03-01T10:59:00Z" } });
    expect(open.body).toEqual({ replayed: 2 });
    expect((await rowsOf([rows[4]!.id]))[0]).toMatchObject({ status: "pending", leasedUntil: null });
  });

  it("replay refuses a bad window with problem+json and changes nothing", async () => {
    const { token, endpoint } = await endpointOfNewUser();
    const rows = await insertDeliveries(api.db.db, endpoint, [{ createdAt: at("2026-03-01T10:00:00Z") }]);
    const before = await rowsOf([rows[0]!.id]);
    for (const body of [{}, { since: "yesterday" }, { since: "2026-03-01T10:00:00" }, { since: "2026-03-01T11:00:00Z", until: "2026-03-01T10:00:00Z" }, { since: "2026-03-01T10:00:00Z", all: true }]) {
      const res = await api.call("POST", `/api/v1/webhook-endpoints/${endpoint.id}/replay`, { token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
    expect(await rowsOf([rows[0]!.id])).toEqual(before);
  });

  it("retry sets one delivery back to pending, due now and unleased, with the same id", async () => {
    const { token, endpoint } = await endpointOfNewUser();
    const [exhausted, sibling] = await insertDeliveries(api.db.db, endpoint, [
      { createdAt: at("2026-03-01T10:00:00Z"), status: "exhausted", attempts: [{ statusCode: 503 }] },
      { createdAt: at("2026-03-01T10:00:00Z"), status: "exhausted", attempts: [{ statusCode: 503 }] },
    ]);
    const res = await api.call("POST", `/api/v1/webhook-deliveries/${exhausted!.id}/retry`, { token });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: exhausted!.id, eventId: exhausted!.eventId, status: "pending", attempts: 1, lastStatus: 503 });
    const [row] = await rowsOf([exhausted!.id]);
    expect(row).toMatchObject({ status: "pending", leasedUntil: null });
    expect(Math.abs(row!.nextAttemptAt!.getTime() - Date.now())).toBeLessThan(5_000);
    expect((await rowsOf([sibling!.id]))[0]).toEqual(sibling);
  });

  it("retry of a delivery in flight keeps its lease and marks it to go out again when that attempt ends", async () => {
    const { token, endpoint } = await endpointOfNewUser();
    const [inFlight] = await insertDeliveries(api.db.db, endpoint, [{ createdAt: at("2026-03-01T10:00:00Z"), status: "pending" }]);
    const res = await api.call("POST", `/api/v1/webhook-deliveries/${inFlight!.id}/retry`, { token });
    expect(res.status).toBe(202);
    const [row] = await rowsOf([inFlight!.id]);
    // A second attempt beside the one in flight would send the id twice at once.
    expect(row).toMatchObject({ status: "pending", leasedUntil: inFlight!.leasedUntil, redeliver: true, scheduleStep: 0 });
  });
});
