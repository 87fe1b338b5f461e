import Client, { ProcessState, WebHookEventType, type HttpClient } from "android-sms-gateway";
import { verifyWebhookSignature } from "@inboxerr/gateway";
import { waitFor } from "@inboxerr/testing";
import { afterEach, describe, expect, it } from "vitest";
import { CREDENTIALS, SIGNING_KEY, startReceiver, startSimulator } from "./testing/harness";

// The vendor's own npm client still sends to the older `POST /message` with the plain
// `message` string and reads `GET /message/:id`: the simulator must serve what it sends.

type Sim = Awaited<ReturnType<typeof startSimulator>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;
let sim: Sim | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await sim?.close();
  await receiver?.close();
});

/** The client's transport, over real HTTP with fetch; a non-2xx rejects as the client expects. */
const seen: { method: string; path: string; body: unknown }[] = [];
const fetchHttp: HttpClient = {
  get: (url, headers) => call("GET", url, undefined, headers),
  post: (url, body, headers) => call("POST", url, body, headers),
  put: (url, body, headers) => call("PUT", url, body, headers),
  patch: (url, body, headers) => call("PATCH", url, body, headers),
  delete: (url, headers) => call("DELETE", url, undefined, headers),
};
async function call<T>(method: string, url: string, body: unknown, headers?: Record<string, string>): Promise<T> {
  seen.push({ method, path: new URL(url).pathname + new URL(url).search, body });
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

describe("the android-sms-gateway npm client against the simulator", () => {
  it("sends through POST /message with a plain message, reads it back from GET /message/:id, and gets its webhooks", async () => {
    receiver = await startReceiver();
    sim = await startSimulator({ latencyMs: 20, failureRate: 0 });
    const client = new Client(CREDENTIALS.username, CREDENTIALS.password, fetchHttp, sim.api);
    seen.length = 0;

    const hook = await client.registerWebhook({ id: "vendor-sent", event: WebHookEventType.SmsSent, url: receiver.url });
    expect(hook).toMatchObject({ id: "vendor-sent", event: "sms:sent", url: receiver.url });
    expect(await client.getWebhooks()).toEqual([expect.objectContaining({ id: "vendor-sent" })]);

    const state = await client.send({ id: "vendor-1", message: "Hello from the vendor client", phoneNumbers: ["+14155550100"], withDeliveryReport: true });
    expect(state).toMatchObject({ id: "vendor-1", state: ProcessState.Pending, recipients: [{ phoneNumber: "+14155550100", state: "Pending" }] });
    // What the client actually sent: the older path and field, so this test proves them served.
    expect(seen).toContainEqual({ method: "POST", path: "/3rdparty/v1/message", body: expect.objectContaining({ message: "Hello from the vendor client" }) });
    expect(seen.find((s) => s.path === "/3rdparty/v1/message")!.body).not.toHaveProperty("textMessage");

    const r = receiver;
    await waitFor(() => r.received.length >= 1, { message: "sms:sent webhook" });
    const [sent] = r.received;
    expect(sent!.body).toMatchObject({ event: "sms:sent", payload: { messageId: "vendor-1", partsCount: 1 } });
    const verdict = verifyWebhookSignature({
      key: SIGNING_KEY,
      rawBody: sent!.rawBody,
      timestamp: sent!.headers["x-timestamp"] as string,
      signature: sent!.headers["x-signature"] as string,
    });
    expect(verdict).toEqual({ ok: true });

    await waitFor(async () => (await client.getState("vendor-1")).state === ProcessState.Delivered, { message: "Delivered via GET /message/:id" });
    expect(seen.some((s) => s.method === "GET" && s.path === "/3rdparty/v1/message/vendor-1")).toBe(true);
    expect(sim.sim.stats()).toMatchObject({ totalSends: 1, sendsById: { "vendor-1": 1 } });

    await client.deleteWebhook("vendor-sent");
    expect(await client.getWebhooks()).toEqual([]);
    expect(await client.getHealth()).toMatchObject({ status: "pass" });
  });

  it("passes skipPhoneValidation through as the query parameter the simulator honours", async () => {
    sim = await startSimulator({ latencyMs: 60_000 });
    const client = new Client(CREDENTIALS.username, CREDENTIALS.password, fetchHttp, sim.api);
    await expect(client.send({ message: "x", phoneNumbers: ["12"] })).rejects.toThrow(/400/);
    const state = await client.send({ message: "x", phoneNumbers: ["12"] }, { skipPhoneValidation: true });
    expect(state.recipients).toEqual([{ phoneNumber: "12", state: "Pending" }]);
  });
});
