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
});

async function subscribe(s: Sim, url: string, events: string[]) {
  for (const event of events) expect((await s.call("POST", "/webhooks", { url, event })).status).toBe(201);
}

const TWO_PARTS = "x".repeat(200);

describe("webhook delivery", () => {
  it("sends a signed sms:sent with partsCount, then one sms:delivered per part", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ latencyMs: 20, failureRate: 0, deviceId: "sim-device" });
    await subscribe(sim, receiver.url, ["sms:sent", "sms:delivered", "sms:failed"]);
    const id = "6f1c2d3e-0000-4000-8000-0000000000aa";
    await sim.call("POST", "/messages", { id, textMessage: { text: TWO_PARTS }, phoneNumbers: ["+14155550100"], simNumber: 2 });

    const r = receiver;
    await waitFor(() => r.received.length >= 3, { message: "3 webhooks" });
    await waitFor(() => sim!.sim.deliveries().scheduled === 0);
    expect(r.received).toHaveLength(3);
    const [sent, ...delivered] = r.received;
    expect(sent!.body).toEqual({
      id: expect.any(String),
      webhookId: expect.any(String),
      deviceId: "sim-device",
      event: "sms:sent",
      payload: {
        messageId: id,
        phoneNumber: "+14155550100",
        sender: null,
        recipient: "+14155550100",
        simNumber: 2,
        partsCount: 2,
        sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/),
      },
    });
    expect(delivered.map((d) => d.body.event)).toEqual(["sms:delivered", "sms:delivered"]);
    expect(delivered[0]!.body.payload).toMatchObject({ messageId: id, recipient: "+14155550100", deliveredAt: expect.any(String) });
    // Every envelope has its own id, so receivers can deduplicate on it.
    expect(new Set(r.received.map((d) => d.body.id)).size).toBe(3);

    for (const hook of r.received) {
      expect(hook.headers["content-type"]).toBe("application/json");
      expect(hook.headers["x-timestamp"]).toMatch(/^\d+$/);
      const verdict = verifyWebhookSignature({
        key: SIGNING_KEY,
        rawBody: hook.rawBody,
        timestamp: hook.headers["x-timestamp"] as string,
        signature: hook.headers["x-signature"] as string,
      });
      expect(verdict).toEqual({ ok: true });
    }
    expect(sim.sim.stats().outcomes).toEqual({ delivered: 1, failed: 0 });
    expect(await sim.call("GET", `/messages/${id}`)).toMatchObject({
      body: { state: "Delivered", recipients: [{ phoneNumber: "+14155550100", state: "Delivered" }] },
    });
  });

  it("sends sms:failed with a reason when the fate says so", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ latencyMs: 0, failureRate: 1 });
    await subscribe(sim, receiver.url, ["sms:sent", "sms:failed", "sms:delivered"]);
    await sim.call("POST", "/messages", { id: "fail-1", textMessage: { text: "hi" }, phoneNumbers: ["+14155550100"] });
    const r = receiver;
    await waitFor(() => r.received.length >= 2);
    expect(r.received.map((d) => d.body.event).sort()).toEqual(["sms:failed", "sms:sent"]);
    const failed = r.received.find((d) => d.body.event === "sms:failed")!;
    expect(failed.body.payload).toMatchObject({ messageId: "fail-1", reason: expect.stringMatching(/^RESULT_/), failedAt: expect.any(String) });
    expect(sim.sim.stats().outcomes).toEqual({ delivered: 0, failed: 1 });
  });

  it("retries with backoff until the receiver answers 2xx, with the same envelope id", async () => {
    receiver = await startReceiver((n) => (n <= 2 ? 500 : 200));
    sim = await startSimulator({ latencyMs: 0, webhooks: { baseBackoffMs: 20, maxBackoffMs: 100 } });
    await subscribe(sim, receiver.url, ["sms:sent"]);
    await sim.call("POST", "/messages", { id: "retry-1", textMessage: { text: "hi" }, phoneNumbers: ["+14155550100"] });
    const r = receiver;
    await waitFor(() => r.received.length === 1, { message: "the third attempt to succeed" });
    expect(r.attempts()).toBe(3);
    expect(r.received[0]!.body).toMatchObject({ event: "sms:sent", payload: { messageId: "retry-1" } });
    await waitFor(() => sim!.sim.deliveries().delivered === 1);
    expect(sim.sim.deliveries()).toMatchObject({ queued: 0, inFlight: 0, retrying: 0, failedAttempts: 2 });
  });

  it("only calls webhooks registered for the event and the message's device", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ latencyMs: 0, deviceId: "dev-a" });
    await sim.call("POST", "/webhooks", { url: receiver.url, event: "sms:sent", deviceId: "dev-b" });
    await sim.call("POST", "/webhooks", { url: receiver.url, event: "sms:sent", deviceId: "dev-a" });
    await sim.call("POST", "/messages", { id: "dev-1", textMessage: { text: "hi" }, phoneNumbers: ["+14155550100"] });
    await waitFor(() => sim!.sim.deliveries().delivered === 1 && sim!.sim.deliveries().scheduled === 0);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.body.deviceId).toBe("dev-a");
  });

  it("emits sms:received for POST /simulator/inbound", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ utcOffsetMinutes: 120 });
    await subscribe(sim, receiver.url, ["sms:received"]);
    const res = await fetch(`${sim.url}/simulator/inbound`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phoneNumber: "+14155550100", message: "STOP" }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ webhooks: 1 });
    const r = receiver;
    await waitFor(() => r.received.length === 1);
    expect(r.received[0]!.body).toMatchObject({
      event: "sms:received",
      payload: {
        messageId: expect.any(String),
        message: "STOP",
        phoneNumber: "+14155550100",
        sender: "+14155550100",
        receivedAt: expect.stringMatching(/\+02:00$/),
      },
    });
  });

  it("forgets messages, stats and pending events on reset but keeps registrations", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ latencyMs: 60_000 });
    await subscribe(sim, receiver.url, ["sms:sent"]);
    await sim.call("POST", "/messages", { id: "r-1", textMessage: { text: "hi" }, phoneNumbers: ["+14155550100"] });
    expect(sim.sim.deliveries().scheduled).toBe(1);
    expect((await fetch(`${sim.url}/simulator/reset`, { method: "POST" })).status).toBe(204);
    const zero = { sends: 0, delivered: 0, failed: 0, limitFailed: 0 };
    expect(await (await fetch(`${sim.url}/simulator/stats`)).json()).toEqual({
      totalSends: 0,
      duplicates: 0,
      sendsById: {},
      outcomes: { delivered: 0, failed: 0 },
      devices: { [sim.deviceIds[0]!]: { ...zero, sims: { "1": zero } } },
    });
    expect(sim.sim.deliveries().scheduled).toBe(0);
    expect((await sim.call("GET", "/webhooks")).body).toHaveLength(1);
    expect((await sim.call("POST", "/messages", { id: "r-1", textMessage: { text: "hi" }, phoneNumbers: ["+14155550100"] })).status).toBe(202);
  });
});
