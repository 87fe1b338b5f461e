import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageAttempts, senders } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const accountBody = (shared = false) => ({
  name: `phones-${uniqueSuffix()}`,
  baseUrl: "https://gw.example/3rdparty/v1",
  username: "u",
  password: "p",
  shared,
});

/** An account of `token`'s user (or shared, for an admin) with SIMs 1 and 2 of one device. */
async function fleet(token: string, shared = false) {
  const account = await api.call("POST", "/api/v1/gateway-accounts", { token, body: accountBody(shared) });
  expect(account.status).toBe(201);
  const rows = await api.db.db
    .insert(senders)
    .values([1, 2].map((simNumber) => ({ accountId: account.body.id, deviceId: `dev-${uniqueSuffix()}`, simNumber, phoneNumber: `+1415555010${simNumber}` })))
    .returning();
  return { accountId: account.body.id as string, senders: rows };
}

describe("/api/v1/senders", () => {
  it("lists an account's senders with limits, health and today's usage counted from attempts", async () => {
    const { token } = await api.user();
    const { accountId, senders: [sim1, sim2] } = await fleet(token);
    await api.db.db.update(senders).set({ dailyCap: 100, health: { battery: 80 }, lastSeenAt: new Date() }).where(eq(senders.id, sim1!.id));
    for (const to of ["+14155552671", "+14155552671", "+14155552672"]) {
      const m = await api.call("POST", "/api/v1/messages", { token, body: { to, text: "hi" } });
      await api.db.db.insert(messageAttempts).values({ messageId: m.body.id, senderId: sim1!.id, n: 1, status: "sent" });
    }

    const res = await api.call("GET", `/api/v1/senders?accountId=${accountId}`, { token });
    expect(res.status).toBe(200);
    expect(res.body.data.map((s: { id: string }) => s.id).sort()).toEqual([sim1!.id, sim2!.id].sort());
    const first = res.body.data.find((s: { id: string }) => s.id === sim1!.id);
    expect(first).toEqual({
      id: sim1!.id,
      accountId,
      shared: false,
      deviceId: sim1!.deviceId,
      simNumber: 1,
      phoneNumber: "+14155550101",
      carrier: null,
      label: null,
      status: "active",
      pausedReason: null,
      limits: { ratePerMinute: null, dailyCap: 100, monthlyUniqueCap: null },
      usage: { today: 3, monthUniqueRecipients: 2 },
      lastSeenAt: expect.any(String),
      health: { battery: 80 },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const one = await api.call("GET", `/api/v1/senders/${sim2!.id}`, { token });
    expect(one.body).toMatchObject({ id: sim2!.id, usage: { today: 0, monthUniqueRecipients: 0 } });
    const paused = await api.call("GET", `/api/v1/senders?accountId=${accountId}&status=paused`, { token });
    expect(paused.body.data).toEqual([]);
    expect((await api.call("GET", "/api/v1/senders?accountId=nope", { token })).body.data).toEqual([]);
  });

  it("lets the owner set label and limits, pause with a reason and resume", async () => {
    const { token } = await api.user();
    const { senders: [sim] } = await fleet(token);
    const path = `/api/v1/senders/${sim!.id}`;
    const set = await api.call("PATCH", path, { token, body: { label: "front desk", ratePerMinute: 20, dailyCap: 500, monthlyUniqueCap: 200 } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ label: "front desk", limits: { ratePerMinute: 20, dailyCap: 500, monthlyUniqueCap: 200 } });

    const pause = await api.call("PATCH", path, { token, body: { status: "paused", pausedReason: "carrier warning" } });
    expect(pause.body).toMatchObject({ status: "paused", pausedReason: "carrier warning", label: "front desk" });
    const resume = await api.call("PATCH", path, { token, body: { status: "active", dailyCap: null } });
    expect(resume.body).toMatchObject({ status: "active", pausedReason: null, limits: { ratePerMinute: 20, dailyCap: null } });

    for (const body of [{ status: "offline" }, { ratePerMinute: 0 }, { dailyCap: -1 }, { daily_cap: 5 }]) {
      const bad = await api.call("PATCH", path, { token, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
    }
    await api.db.db.update(senders).set({ status: "retired" }).where(eq(senders.id, sim!.id));
    expect((await api.call("PATCH", path, { token, body: { status: "active" } })).status).toBe(409);
    expect((await api.call("PATCH", path, { token, body: { label: "gone" } })).status).toBe(200);
  });
});
