import { createSmsGateDriver } from "@inboxerr/gateway";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CREDENTIALS, startSimulator } from "./testing/harness";

// Inboxerr's own SMS Gate driver against the simulated fleet, over real HTTP: what the
// sender sync and the router rely on.
let sim: Awaited<ReturnType<typeof startSimulator>>;
const now = Date.parse("2026-03-01T10:00:00Z");

beforeAll(async () => {
  sim = await startSimulator({ devices: 2, simsPerDevice: 2, latencyMs: 60_000, clock: () => now });
});
afterAll(() => sim.close());
beforeEach(() => sim.sim.reset());

const driver = () => createSmsGateDriver({ baseUrl: sim.api, ...CREDENTIALS, timeoutMs: 5_000 });

describe("the SMS Gate driver against the simulated fleet", () => {
  it("lists every device with its SIMs", async () => {
    const devices = await driver().listDevices();
    expect(devices.map((d) => d.id)).toEqual(sim.deviceIds);
    expect(devices[1]).toEqual({
      id: sim.deviceIds[1],
      name: "Simulated phone 2",
      createdAt: new Date(now),
      updatedAt: new Date(now),
      lastSeen: new Date(now),
      deletedAt: null,
      simCards: [
        { simNumber: 1, slotIndex: 0, phoneNumber: expect.stringMatching(/^\+1555\d{7}$/), carrierName: expect.any(String) },
        { simNumber: 2, slotIndex: 1, phoneNumber: expect.stringMatching(/^\+1555\d{7}$/), carrierName: expect.any(String) },
      ],
    });
  });

  it("sends each message from the device and SIM it names, and gets 409 only on that device", async () => {
    const [a, b] = sim.deviceIds as [string, string];
    const d = driver();
    const sms = { id: "drv-1", to: "+14155550100", text: "hi" };
    expect(await d.send({ ...sms, deviceId: b, simNumber: 2 })).toMatchObject({ kind: "accepted", duplicate: false });
    expect(await d.send({ ...sms, deviceId: b, simNumber: 2 })).toMatchObject({ kind: "accepted", duplicate: true });
    expect(await d.send({ ...sms, deviceId: a, simNumber: 1 })).toMatchObject({ kind: "accepted", duplicate: false });
    const stats = sim.sim.stats();
    expect(stats.devices[b]?.sims["2"]?.sends).toBe(1);
    expect(stats.devices[a]?.sims["1"]?.sends).toBe(1);
    expect(stats.sendsById["drv-1"]).toBe(3);
    expect(await d.send({ ...sms, id: "drv-2", deviceId: "gone-device" })).toMatchObject({ kind: "permanent", status: 400 });
  });
});
