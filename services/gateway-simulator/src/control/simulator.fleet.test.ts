import { waitFor } from "@inboxerr/testing";
import { afterEach, describe, expect, it } from "vitest";
import { startReceiver, startSimulator } from "../testing/harness";

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

const send = (id: string, deviceId: string) => ({ id, deviceId, textMessage: { text: "hi" }, phoneNumbers: ["+14155550100"] });
const messageIds = (r: Receiver, event: string) =>
  r.received.filter((w) => w.body.event === event).map((w) => (w.body.payload as { messageId: string }).messageId);
const held = async (s: Sim) => ((await s.control("GET", "/deliveries")).body as { held: number }).held;

describe("POST /simulator/devices/:id/offline {fetched}", () => {
  it("keeps a phone that fetched its messages from cancelling them, and sends them when it is back", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ devices: 1, latencyMs: 10 });
    const device = sim.deviceIds[0]!;
    for (const event of ["sms:sent", "sms:cancelled"]) await sim.call("POST", "/webhooks", { url: receiver.url, event });

    // Held in Pending first, then the phone turns out to have fetched it before going dark.
    expect((await sim.control("POST", `/devices/${device}/offline`)).status).toBe(204);
    expect((await sim.call("POST", "/messages", send("before", device))).status).toBe(202);
    await waitFor(async () => (await held(sim!)) === 1);
    expect((await sim.call("GET", "/messages/before")).body).toMatchObject({ state: "Pending" });
    expect((await sim.control("POST", `/devices/${device}/offline`, { fetched: true })).status).toBe(204);
    expect((await sim.call("GET", "/messages/before")).body).toMatchObject({ state: "Processed", recipients: [{ state: "Processed" }] });

    // One it gets while offline is Processed from the start.
    const during = await sim.call("POST", "/messages", send("during", device));
    expect(during).toMatchObject({ status: 202, body: { state: "Processed" } });
    await waitFor(async () => (await held(sim!)) === 2);

    for (const id of ["before", "during"]) {
      expect(await sim.call("DELETE", `/messages/${id}`)).toMatchObject({ status: 409, body: { message: "failed to cancel message: message is not pending" } });
    }

    expect((await sim.control("POST", `/devices/${device}/online`)).status).toBe(204);
    await waitFor(() => messageIds(receiver!, "sms:sent").length === 2);
    expect(messageIds(receiver, "sms:sent").sort()).toEqual(["before", "during"]);
    expect(messageIds(receiver, "sms:cancelled")).toEqual([]);
    expect((await sim.call("GET", "/messages/during")).body).toMatchObject({ state: "Delivered" });

    // Back online, fetched is forgotten: the next dark spell without it holds in Pending again.
    expect((await sim.control("POST", `/devices/${device}/offline`, {})).status).toBe(204);
    expect((await sim.call("POST", "/messages", send("after", device))).body).toMatchObject({ state: "Pending" });
    expect(await sim.call("DELETE", "/messages/after")).toMatchObject({ status: 200, body: { state: "Cancelled" } });
    await waitFor(() => messageIds(receiver!, "sms:cancelled").length === 1);
  });

  it("refuses a body that is not {fetched?: boolean} with 400 and leaves the device online", async () => {
    sim = await startSimulator({ devices: 1, latencyMs: 10 });
    const device = sim.deviceIds[0]!;
    for (const body of [{ fetched: "yes" }, { fetched: true, extra: 1 }, [true]]) {
      const res = await sim.control("POST", `/devices/${device}/offline`, body);
      expect(res).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^validation failed: /) } });
    }
    expect((await sim.control("POST", "/devices/unknown/offline", { fetched: true })).status).toBe(404);

    expect((await sim.call("POST", "/messages", send("still-up", device))).status).toBe(202);
    await waitFor(() => sim!.sim.stats().outcomes.delivered === 1);
  });

  it("forgets fetched on reset", async () => {
    sim = await startSimulator({ devices: 1, latencyMs: 10 });
    const device = sim.deviceIds[0]!;
    await sim.control("POST", `/devices/${device}/offline`, { fetched: true });
    expect((await sim.control("POST", "/reset")).status).toBe(204);
    await sim.control("POST", `/devices/${device}/offline`);
    expect((await sim.call("POST", "/messages", send("fresh", device))).body).toMatchObject({ state: "Pending" });
  });
});
