import { verifyWebhookSignature } from "@inboxerr/gateway";
import { waitFor } from "@inboxerr/testing";
import { afterEach, describe, expect, it } from "vitest";
import { SIGNING_KEY, startReceiver, startSimulator } from "../testing/harness";

type Sim = Awaited<ReturnType<typeof startSimulator>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;
let sim: Sim | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await sim?.close();
  await receiver?.close();
  sim = undefined;
  receiver = undefined;
});

const DAY = 86_400_000;
const send = (id: string, extra: object = {}) => ({ id, textMessage: { text: "hi" }, phoneNumbers: ["+14155550100"], ...extra });
const events = (r: Receiver, event: string) => r.received.filter((w) => w.body.event === event).map((w) => w.body);
const zero = { sends: 0, delivered: 0, failed: 0, limitFailed: 0 };

describe("the simulated fleet", () => {
  it("lists each account's devices with their SIMs in SMS Gate's shape, on both API prefixes", async () => {
    const now = Date.parse("2026-03-01T10:00:00Z");
    sim = await startSimulator({ devices: 2, simsPerDevice: 2, clock: () => now });
    const res = await sim.call("GET", "/devices");
    expect(res.status).toBe(200);
    const devices = res.body as Array<{ id: string; simCards: Array<{ phoneNumber: string }> }>;
    expect(devices).toHaveLength(2);
    expect(devices[0]).toEqual({
      id: sim.deviceIds[0],
      name: "Simulated phone 1",
      createdAt: "2026-03-01T10:00:00.000Z",
      updatedAt: "2026-03-01T10:00:00.000Z",
      lastSeen: "2026-03-01T10:00:00.000Z",
      simCards: [
        { slotIndex: 0, simNumber: 1, phoneNumber: expect.stringMatching(/^\+1555\d{7}$/), carrierName: expect.any(String) },
        { slotIndex: 1, simNumber: 2, phoneNumber: expect.stringMatching(/^\+1555\d{7}$/), carrierName: expect.any(String) },
      ],
    });
    for (const d of devices) expect(d.id.length).toBeLessThanOrEqual(21);
    expect(new Set(devices.flatMap((d) => d.simCards.map((s) => s.phoneNumber))).size).toBe(4);
    const privateServer = await fetch(`${sim.url}/api/3rdparty/v1/devices`, { headers: { authorization: `Basic ${btoa("inboxerr:sim-password")}` } });
    expect(await privateServer.json()).toEqual(res.body);

    // Derived from seed, account and index: a restart shows the same phones.
    const again = await startSimulator({ devices: 2, simsPerDevice: 2, clock: () => now });
    expect((await again.call("GET", "/devices")).body).toEqual(res.body);
    await again.close();
  });

  it("keeps ids unique per device, and sends a retry without deviceId to the same device", async () => {
    sim = await startSimulator({ devices: 2, latencyMs: 60_000 });
    const [a, b] = sim.deviceIds as [string, string];
    expect((await sim.call("POST", "/messages", send("same-id", { deviceId: a }))).status).toBe(202);
    expect((await sim.call("POST", "/messages", send("same-id", { deviceId: b }))).status).toBe(202);
    expect((await sim.call("POST", "/messages", send("same-id", { deviceId: a }))).status).toBe(409);

    const picked = new Set<string>();
    for (let i = 0; i < 20; i += 1) {
      const first = await sim.call("POST", "/messages", send(`auto-${i}`));
      expect(first.status).toBe(202);
      picked.add((first.body as { deviceId: string }).deviceId);
      expect((await sim.call("POST", "/messages", send(`auto-${i}`))).status).toBe(409);
    }
    // The hash spreads ids over both phones.
    expect(picked).toEqual(new Set([a, b]));
    expect(await sim.call("POST", "/messages", send("x", { deviceId: "not-a-device" }))).toMatchObject({
      status: 400,
      body: { message: "failed to select device: record not found" },
    });
  });

  it("fails a SIM's sends with RESULT_ERROR_LIMIT_EXCEEDED past its carrier daily limit, until the next day", async () => {
    let now = Date.parse("2026-03-01T10:00:00Z");
    receiver = await startReceiver();
    sim = await startSimulator({ devices: 1, simsPerDevice: 2, clock: () => now });
    const device = sim.deviceIds[0]!;
    for (const event of ["sms:delivered", "sms:failed"]) await sim.call("POST", "/webhooks", { url: receiver.url, event });
    expect((await sim.control("POST", "/sims/limit", { deviceId: device, simNumber: 1, dailyLimit: 2 })).status).toBe(204);

    for (const id of ["l-1", "l-2", "l-3"]) {
      expect((await sim.call("POST", "/messages", send(id, { deviceId: device, simNumber: 1 }))).status).toBe(202);
      // One at a time: which send is the third is what the limit decides.
      await waitFor(() => sim!.sim.stats().outcomes.delivered + sim!.sim.stats().outcomes.failed === Number(id.slice(2)));
    }
    expect((await sim.call("POST", "/messages", send("l-other-sim", { deviceId: device, simNumber: 2 }))).status).toBe(202);
    await waitFor(() => sim!.sim.stats().outcomes.delivered === 3);
    await waitFor(() => events(receiver!, "sms:failed").length === 1);
    expect(events(receiver, "sms:failed")[0]).toMatchObject({ payload: { messageId: "l-3", reason: "RESULT_ERROR_LIMIT_EXCEEDED" } });
    expect((await sim.call("GET", "/messages/l-3")).body).toMatchObject({ state: "Failed", recipients: [{ error: "RESULT_ERROR_LIMIT_EXCEEDED" }] });
    expect(sim.sim.stats().devices[device]).toEqual({
      sends: 4,
      delivered: 3,
      failed: 1,
      limitFailed: 1,
      sims: { "1": { sends: 3, delivered: 2, failed: 1, limitFailed: 1 }, "2": { sends: 1, delivered: 1, failed: 0, limitFailed: 0 } },
    });

    now += DAY;
    expect((await sim.call("POST", "/messages", send("l-4", { deviceId: device, simNumber: 1 }))).status).toBe(202);
    await waitFor(() => sim!.sim.stats().outcomes.delivered === 4);
    expect(events(receiver, "sms:failed")).toHaveLength(1);
  });

  it("holds an offline device's messages in Pending, cancels them with sms:cancelled, and freezes lastSeen", async () => {
    let now = Date.parse("2026-03-01T10:00:00Z");
    receiver = await startReceiver();
    sim = await startSimulator({ devices: 2, latencyMs: 10, clock: () => now });
    const [down, up] = sim.deviceIds as [string, string];
    for (const event of ["sms:sent", "sms:delivered", "sms:cancelled"]) await sim.call("POST", "/webhooks", { url: receiver.url, event });
    expect((await sim.control("POST", `/devices/${down}/offline`)).status).toBe(204);
    now += 60_000;

    expect((await sim.call("POST", "/messages", send("held-1", { deviceId: down }))).status).toBe(202);
    expect((await sim.call("POST", "/messages", send("held-2", { deviceId: down }))).status).toBe(202);
    expect((await sim.call("POST", "/messages", send("live-1", { deviceId: up }))).status).toBe(202);
    // The online phone's message went all the way while the offline one's did not move.
    await waitFor(() => events(receiver!, "sms:delivered").length === 1);
    await waitFor(async () => ((await sim!.control("GET", "/deliveries")).body as { held: number }).held === 2);
    expect((await sim.call("GET", "/messages/held-1")).body).toMatchObject({ state: "Pending", states: {} });

    const devices = (await sim.call("GET", "/devices")).body as Array<{ id: string; lastSeen: string }>;
    expect(devices.find((d) => d.id === down)?.lastSeen).toBe("2026-03-01T10:00:00.000Z");
    expect(devices.find((d) => d.id === up)?.lastSeen).toBe("2026-03-01T10:01:00.000Z");

    const cancelled = await sim.call("DELETE", "/messages/held-1");
    expect(cancelled).toMatchObject({ status: 200, body: { id: "held-1", state: "Cancelled", recipients: [{ state: "Cancelled" }] } });
    await waitFor(() => events(receiver!, "sms:cancelled").length === 1);
    expect(events(receiver, "sms:cancelled")[0]).toMatchObject({ deviceId: down, payload: { messageId: "held-1", phoneNumber: "+14155550100" } });
    expect(await sim.call("DELETE", "/messages/held-1")).toMatchObject({ status: 409, body: { message: "failed to cancel message: message is not pending" } });
    expect(await sim.call("DELETE", "/messages/live-1")).toMatchObject({ status: 409 });
    expect(await sim.call("DELETE", "/messages/nobody")).toMatchObject({ status: 404, body: { message: "failed to cancel message: message not found" } });

    // Back online, the phone sends what it still holds; the cancelled one stays cancelled.
    expect((await sim.control("POST", `/devices/${down}/online`)).status).toBe(204);
    await waitFor(() => events(receiver!, "sms:delivered").length === 2);
    expect(events(receiver, "sms:sent").map((e) => (e.payload as { messageId: string }).messageId).sort()).toEqual(["held-2", "live-1"]);
    expect((await sim.call("GET", "/messages/held-1")).body).toMatchObject({ state: "Cancelled" });
    expect((await sim.control("POST", "/devices/unknown/offline")).status).toBe(404);
  });

  it("pings from every online device and stops while a device is offline", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ devices: 2, pingIntervalMs: 20 });
    const [down, up] = sim.deviceIds as [string, string];
    await sim.call("POST", "/webhooks", { url: receiver.url, event: "system:ping" });
    const pings = (deviceId: string) => events(receiver!, "system:ping").filter((e) => e.deviceId === deviceId).length;
    await waitFor(() => pings(down) >= 2 && pings(up) >= 2);
    expect(events(receiver, "system:ping")[0]).toMatchObject({ payload: { health: { status: "pass" } } });

    await sim.control("POST", `/devices/${down}/offline`);
    // Pings already queued before the switch arrive first (one FIFO); then none come from it.
    let mark = pings(up);
    await waitFor(() => pings(up) >= mark + 3);
    const frozen = pings(down);
    mark = pings(up);
    await waitFor(() => pings(up) >= mark + 5);
    expect(pings(down)).toBe(frozen);

    await sim.control("POST", `/devices/${down}/online`);
    await waitFor(() => pings(down) > frozen);
  });

  it("runs several accounts in one process, each with its own devices, webhooks, signing key and stats", async () => {
    const second = { username: "second", password: "second-pass", signingKey: "second-signing-key-0123" };
    receiver = await startReceiver();
    sim = await startSimulator({ devices: 2, latencyMs: 5, accounts: [second] });
    const third = { username: "third", password: "third-pass" };
    const created = await sim.control("POST", "/accounts", third);
    expect(created).toMatchObject({ status: 201, body: { username: "third", devices: [{ id: expect.any(String) }, { id: expect.any(String) }] } });
    expect((await sim.control("POST", "/accounts", third)).status).toBe(409);

    const ids = async (account: typeof second | typeof third) =>
      ((await sim!.callAs(account, "GET", "/devices")).body as Array<{ id: string }>).map((d) => d.id);
    const all = [...sim.deviceIds, ...(await ids(second)), ...(await ids(third))];
    expect(new Set(all).size).toBe(6);
    expect((await sim.callAs({ ...second, password: "wrong" }, "GET", "/devices")).status).toBe(401);

    expect((await sim.callAs(second, "POST", "/webhooks", { url: receiver.url, event: "sms:sent" })).status).toBe(201);
    expect((await sim.call("GET", "/webhooks")).body).toEqual([]);
    expect((await sim.callAs(second, "GET", "/webhooks")).body).toHaveLength(1);

    // The same id in two accounts: two different phones, both accepted.
    expect((await sim.call("POST", "/messages", send("shared-id"))).status).toBe(202);
    expect((await sim.callAs(second, "POST", "/messages", send("shared-id"))).status).toBe(202);
    expect((await sim.callAs(second, "POST", "/messages", send("shared-id"))).status).toBe(409);
    expect((await sim.callAs(third, "GET", "/messages/shared-id")).status).toBe(404);

    await waitFor(() => receiver!.received.length === 1);
    const hook = receiver.received[0]!;
    expect(hook.body).toMatchObject({ event: "sms:sent", payload: { messageId: "shared-id" } });
    const signed = (key: string) =>
      verifyWebhookSignature({
        key,
        rawBody: hook.rawBody,
        timestamp: hook.headers["x-timestamp"] as string,
        signature: hook.headers["x-signature"] as string,
      }).ok;
    expect(signed(second.signingKey)).toBe(true);
    expect(signed(SIGNING_KEY)).toBe(false);

    expect(sim.sim.stats()).toMatchObject({ totalSends: 1, duplicates: 0 });
    expect((await sim.control("GET", "/stats?account=second")).body).toMatchObject({ totalSends: 1, duplicates: 1, sendsById: { "shared-id": 2 } });
    expect((await sim.control("GET", "/stats?account=third")).body).toMatchObject({ totalSends: 0 });
    expect((await sim.control("GET", "/stats?account=nobody")).status).toBe(404);

    expect((await sim.control("POST", "/reset")).status).toBe(204);
    const stats = sim.sim.stats("second");
    expect(stats.totalSends).toBe(0);
    expect(Object.values(stats.devices)).toEqual([
      { ...zero, sims: { "1": zero } },
      { ...zero, sims: { "1": zero } },
    ]);
    expect((await sim.callAs(third, "GET", "/devices")).status).toBe(200);
  });
});
