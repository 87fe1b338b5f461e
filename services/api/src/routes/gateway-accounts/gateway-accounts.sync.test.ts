import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "@inboxerr/gateway-simulator/testing";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

// Discovery against the simulator over real HTTP: each test gets a simulator account of its
// own with 2 phones × 2 SIMs, and a tenant whose gateway account logs into it.
let api: TestApi;
let sim: Awaited<ReturnType<typeof startSimulator>>;
let now = Date.parse("2026-03-02T10:00:00Z");
beforeAll(async () => {
  [api, sim] = await Promise.all([startTestApi(), startSimulator({ devices: 2, simsPerDevice: 2, clock: () => now })]);
});
afterAll(async () => {
  await Promise.all([api.stop(), sim.close()]);
});

type DeviceDto = { id: string; simCards: { simNumber: number; phoneNumber: string; carrierName: string }[] };

/** A simulator account and a tenant's gateway account logging into it. */
async function phones(token: string) {
  const login = { username: `sync-${uniqueSuffix()}`, password: "sim-account-password" };
  const created = await sim.control("POST", "/accounts", login);
  expect(created.status).toBe(201);
  const body = { name: `phones-${uniqueSuffix()}`, baseUrl: sim.api, ...login };
  const account = await api.call("POST", "/api/v1/gateway-accounts", { token, body });
  expect(account.status).toBe(201);
  return { accountId: account.body.id as string, devices: (created.body as { devices: DeviceDto[] }).devices };
}

const sync = (token: string, accountId: string) => api.call("POST", `/api/v1/gateway-accounts/${accountId}/sync`, { token });
const listed = async (token: string, accountId: string) => (await api.call("GET", `/api/v1/senders?accountId=${accountId}`, { token })).body.data;

describe("POST /api/v1/gateway-accounts/{id}/sync", () => {
  it("creates one sender per SIM with its number and carrier, and a second sync keeps what the owner set", async () => {
    const { token } = await api.user();
    const { accountId, devices } = await phones(token);

    const first = await sync(token, accountId);
    expect(first.status).toBe(200);
    expect(first.body.devices).toBe(2);
    expect(first.body.unreported).toEqual([]);
    const expected = devices.flatMap((d) =>
      d.simCards.map((c) => ({ deviceId: d.id, simNumber: c.simNumber, phoneNumber: c.phoneNumber, carrier: c.carrierName })),
    );
    expect(expected).toHaveLength(4);
    expect(first.body.data).toHaveLength(4);
    for (const want of expected) {
      expect(first.body.data).toContainEqual(
        expect.objectContaining({ ...want, accountId, status: "active", lastSeenAt: new Date(now).toISOString(), label: null }),
      );
    }
    // The answer is GET /senders' representation.
    expect(first.body.data).toEqual(await listed(token, accountId));

    const [tuned] = first.body.data;
    const patched = await api.call("PATCH", `/api/v1/senders/${tuned.id}`, {
      token,
      body: { label: "front desk", ratePerMinute: 20, dailyCap: 100, monthlyUniqueCap: 50, status: "paused", pausedReason: "carrier warning" },
    });
    expect(patched.status).toBe(200);
    const before = await listed(token, accountId);

    now += 60_000; // the phones are seen a minute later
    const second = await sync(token, accountId);
    expect(second.status).toBe(200);
    expect(second.body.data).toEqual(before.map((s: object) => ({ ...s, lastSeenAt: new Date(now).toISOString() })));
    expect(second.body.data.find((s: { id: string }) => s.id === tuned.id)).toMatchObject({
      label: "front desk",
      status: "paused",
      pausedReason: "carrier warning",
      limits: { ratePerMinute: 20, dailyCap: 100, monthlyUniqueCap: 50 },
    });
  });

  it("is 404 for another tenant's account and for unknown ids, and 403 on a shared account for a non-admin", async () => {
    const a = await api.user();
    const b = await api.user();
    const { accountId } = await phones(a.token);
    expect((await sync(b.token, accountId)).status).toBe(404);
    expect((await sync(a.token, "00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await sync(a.token, "not-an-id")).status).toBe(404);
    expect(await listed(a.token, accountId)).toEqual([]);

    const admin = await api.user("admin");
    const shared = await api.call("POST", "/api/v1/gateway-accounts", {
      token: admin.token,
      body: { name: `shared-${uniqueSuffix()}`, baseUrl: sim.api, username: "nobody", password: "x", shared: true },
    });
    const refused = await sync(a.token, shared.body.id);
    expect(refused.status).toBe(403);
  });

  it("answers 502 naming the credentials when the gateway refuses them, and changes nothing", async () => {
    const { token } = await api.user();
    const { accountId } = await phones(token);
    expect((await sync(token, accountId)).status).toBe(200);
    const before = await listed(token, accountId);

    const wrong = await api.call("PATCH", `/api/v1/gateway-accounts/${accountId}`, { token, body: { password: "not-the-password" } });
    expect(wrong.status).toBe(200);
    now += 60_000;
    const res = await sync(token, accountId);
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({ status: 502, code: "bad_gateway" });
    expect(res.body.detail).toMatch(/refused .*credentials.*username and password/);
    expect(res.body.detail).not.toContain("not-the-password");
    expect(await listed(token, accountId)).toEqual(before);
  });

  it("answers 502 when the gateway does not answer in time", async () => {
    // A gateway that accepts the connection and never answers.
    const hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const quick = await startTestApi({ config: { SMSGATE_TIMEOUT_MS: 300 } });
    try {
      const { token } = await quick.user();
      const body = { name: `hung-${uniqueSuffix()}`, baseUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/3rdparty/v1`, username: "u", password: "p" };
      const account = await quick.call("POST", "/api/v1/gateway-accounts", { token, body });
      const res = await quick.call("POST", `/api/v1/gateway-accounts/${account.body.id}/sync`, { token });
      expect(res.status).toBe(502);
      expect(res.body.detail).toMatch(/timeout after 300 ms/);
    } finally {
      hung.closeAllConnections();
      await new Promise((resolve) => hung.close(resolve));
      await quick.stop();
    }
  });
});
