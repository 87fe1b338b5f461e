import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GatewayRequestError } from "./driver";
import { createSmsGateDriver } from "./smsgate";

type Seen = { method: string; url: string; headers: IncomingMessage["headers"]; body: string };
type Handler = (req: Seen, res: ServerResponse) => void;

// A real HTTP server whose answer each test scripts: the driver's fetch, timeouts and
// header parsing all run for real.
let server: Server;
let baseUrl: string;
let handler: Handler;
const seen: Seen[] = [];
const hung = new Set<ServerResponse>();

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/3rdparty/v1`;
});

afterAll(async () => {
  for (const res of hung) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

const driver = (extra: { deviceId?: string; simNumber?: number; timeoutMs?: number } = {}) =>
  createSmsGateDriver({ baseUrl: `${baseUrl}/`, username: "inboxerr", password: "s3cret", timeoutMs: 2000, ...extra });

const sms = { id: "6f1c2d3e-0000-4000-8000-000000000001", to: "+14155550100", text: "hello" };

describe("SmsGate driver send", () => {
  it("posts the SMS Gate message shape with Basic auth and reads the 202 state", async () => {
    handler = (_req, res) => json(res, 202, { id: sms.id, state: "Pending", recipients: [] });
    const validUntil = new Date("2030-01-01T00:00:00.000Z");
    const result = await driver({ deviceId: "dev-1", simNumber: 2 }).send({ ...sms, priority: 100, validUntil });

    expect(result).toEqual({ kind: "accepted", state: "Pending", duplicate: false, status: 202 });
    const req = seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.url).toBe("/3rdparty/v1/messages");
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from("inboxerr:s3cret").toString("base64")}`);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({
      id: sms.id,
      textMessage: { text: "hello" },
      phoneNumbers: ["+14155550100"],
      deviceId: "dev-1",
      simNumber: 2,
      withDeliveryReport: true,
      priority: 100,
      validUntil: "2030-01-01T00:00:00.000Z",
    });
  });

  it("leaves optional fields out when unset and lets the message override the device", async () => {
    handler = (_req, res) => json(res, 202, { id: sms.id, state: "Pending" });
    await driver().send(sms);
    expect(JSON.parse(seen[0]!.body)).toEqual({
      id: sms.id,
      textMessage: { text: "hello" },
      phoneNumbers: ["+14155550100"],
      withDeliveryReport: true,
    });
    await driver({ deviceId: "dev-1" }).send({ ...sms, deviceId: "dev-2", validUntil: null });
    expect(JSON.parse(seen[1]!.body).deviceId).toBe("dev-2");
  });

  it("counts a 409 for the same id as accepted, flagged duplicate", async () => {
    handler = (_req, res) => json(res, 409, { message: "duplicate id" });
    expect(await driver().send(sms)).toEqual({ kind: "accepted", state: null, duplicate: true, status: 409 });
  });

  it("reports a 429 as throttled with Retry-After in seconds", async () => {
    handler = (_req, res) => json(res, 429, { message: "Too Many Requests" }, { "retry-after": "7" });
    expect(await driver().send(sms)).toEqual({
      kind: "throttled",
      retryAfterMs: 7000,
      reason: "Too Many Requests",
      status: 429,
    });
  });

  it("reports a 429 with an HTTP-date Retry-After as throttled until that date", async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    handler = (_req, res) => json(res, 429, { message: "slow down" }, { "retry-after": at });
    const result = await driver().send(sms);
    expect(result.kind).toBe("throttled");
    const ms = result.kind === "throttled" ? result.retryAfterMs : null;
    expect(ms).toBeGreaterThan(25_000);
    expect(ms).toBeLessThanOrEqual(30_000);
  });

  it("reports 503 QueueLimitExceeded as throttled without a retry hint", async () => {
    handler = (_req, res) =>
      json(res, 503, { error: "QueueLimitExceeded", message: "queue limits exceeded: too many pending messages: 10 / 10" });
    expect(await driver().send(sms)).toEqual({
      kind: "throttled",
      retryAfterMs: null,
      reason: "queue limits exceeded: too many pending messages: 10 / 10",
      status: 503,
    });
  });

  it("reports a 400 as permanent with the gateway's own reason", async () => {
    handler = (_req, res) => json(res, 400, { message: "can't use phone in row 1: invalid phone number" });
    expect(await driver().send(sms)).toEqual({
      kind: "permanent",
      reason: "can't use phone in row 1: invalid phone number",
      status: 400,
    });
  });

  it("treats refused credentials as throttling, so a config mistake pauses sends instead of failing them", async () => {
    handler = (_req, res) => json(res, 401, { message: "Unauthorized" });
    expect(await driver().send(sms)).toEqual({
      kind: "throttled",
      retryAfterMs: 30_000,
      reason: "gateway refused our credentials: Unauthorized",
      status: 401,
    });
  });

  it.for([404, 405])("treats a %i on POST /messages as a wrong SMSGATE_URL: throttled, not a failed message", async (status) => {
    handler = (_req, res) => json(res, status, { message: "Not Found" });
    expect(await driver().send(sms)).toEqual({
      kind: "throttled",
      retryAfterMs: 30_000,
      reason: `gateway URL not found — check SMSGATE_URL (HTTP ${status}: Not Found)`,
      status,
    });
  });

  it("cleans what the gateway says before it leaves the driver: no NUL, no lone surrogate, bounded length", async () => {
    handler = (_req, res) => json(res, 400, { message: "bad\u0000 number \ud83d" });
    expect(await driver().send(sms)).toEqual({ kind: "permanent", reason: "bad number \ufffd", status: 400 });
    handler = (_req, res) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`\u0000${"x".repeat(5_000)}`);
    };
    const transient = await driver().send(sms);
    expect(transient).toMatchObject({ kind: "transient", reason: `${"x".repeat(500)}…` });
    handler = (_req, res) => json(res, 202, { id: sms.id, state: "Pend\u0000ing\udc00" });
    expect(await driver().send(sms)).toMatchObject({ kind: "accepted", state: "Pending\ufffd" });
  });

  it("reports a 500, and a 503 that is not a queue limit, as transient", async () => {
    handler = (_req, res) => json(res, 500, { message: "failed to handle request" });
    expect(await driver().send(sms)).toEqual({ kind: "transient", reason: "failed to handle request", status: 500 });
    handler = (_req, res) => {
      res.writeHead(503, { "content-type": "text/plain" });
      res.end("upstream unavailable");
    };
    expect(await driver().send(sms)).toEqual({ kind: "transient", reason: "upstream unavailable", status: 503 });
  });

  it("turns a hung gateway into a transient timeout instead of waiting forever", async () => {
    handler = (_req, res) => void hung.add(res);
    const started = Date.now();
    const result = await driver({ timeoutMs: 200 }).send(sms);
    expect(result).toEqual({ kind: "transient", reason: "timeout after 200 ms", status: null });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("turns a refused connection into a transient network error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await createSmsGateDriver({
      baseUrl: `http://127.0.0.1:${port}/3rdparty/v1`,
      username: "u",
      password: "p",
      timeoutMs: 1000,
    }).send(sms);
    expect(result).toMatchObject({ kind: "transient", status: null, reason: "network error: ECONNREFUSED" });
  });
});

describe("SmsGate driver webhooks", () => {
  it("registers, lists and deletes webhooks", async () => {
    handler = (req, res) => {
      if (req.method === "POST") return json(res, 201, { ...JSON.parse(req.body), deviceId: null });
      if (req.method === "GET") return json(res, 200, [{ id: "wh-1", url: "https://x/h", event: "sms:sent", deviceId: null }]);
      res.writeHead(204).end();
    };
    const d = driver();
    expect(await d.registerWebhook({ id: "wh-1", url: "https://x/h", event: "sms:sent" })).toEqual({
      id: "wh-1",
      url: "https://x/h",
      event: "sms:sent",
      deviceId: null,
    });
    expect(JSON.parse(seen[0]!.body)).toEqual({ id: "wh-1", url: "https://x/h", event: "sms:sent" });
    expect(await d.listWebhooks()).toHaveLength(1);
    await d.deleteWebhook("wh 1");
    expect(seen[2]).toMatchObject({ method: "DELETE", url: "/3rdparty/v1/webhooks/wh%201" });
  });

  it("throws GatewayRequestError with the status when a webhook call is refused", async () => {
    handler = (_req, res) => json(res, 401, { message: "Unauthorized" });
    const err = await driver().listWebhooks().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayRequestError);
    expect(err).toMatchObject({ status: 401, message: expect.stringContaining("Unauthorized") });
    expect((err as Error).message).not.toContain("s3cret");
  });

  it("treats deleting a webhook that is already gone as done", async () => {
    handler = (_req, res) => json(res, 404, { message: "not found" });
    await expect(driver().deleteWebhook("gone")).resolves.toBeUndefined();
  });
});

describe("SmsGate driver devices", () => {
  it("reads devices and SIM cards, tolerating what older or odder gateways leave out", async () => {
    handler = (_req, res) =>
      json(res, 200, [
        {
          id: "dev-1",
          name: "Pixel",
          createdAt: "2026-01-01T00:00:00Z",
          updatedAt: "2026-01-02T00:00:00Z",
          lastSeen: "2026-03-01T10:00:00.123+03:00",
          deletedAt: null,
          simCards: [
            { slotIndex: 0, simNumber: 1, phoneNumber: "+14155550100", carrierName: "Simtel", iccid: "8901" },
            // An older server: slot only; the phone did not read its own number.
            { slotIndex: 1, phoneNumber: "", carrierName: null },
            { phoneNumber: "+1", carrierName: "no slot, no number" },
          ],
          extra: { added: "in a later version" },
        },
        { id: "dev-2", lastSeen: "not a date" },
        { name: "no id: skipped" },
        "garbage",
      ]);
    expect(await driver().listDevices()).toEqual([
      {
        id: "dev-1",
        name: "Pixel",
        createdAt: new Date("2026-01-01T00:00:00Z"),
        updatedAt: new Date("2026-01-02T00:00:00Z"),
        lastSeen: new Date("2026-03-01T07:00:00.123Z"),
        deletedAt: null,
        simCards: [
          { simNumber: 1, slotIndex: 0, phoneNumber: "+14155550100", carrierName: "Simtel" },
          { simNumber: 2, slotIndex: 1, phoneNumber: null, carrierName: null },
        ],
      },
      { id: "dev-2", name: null, createdAt: null, updatedAt: null, lastSeen: null, deletedAt: null, simCards: [] },
    ]);
    expect(seen[0]).toMatchObject({ method: "GET", url: "/3rdparty/v1/devices" });
  });

  it("throws GatewayRequestError for a refusal or a body that is not a list", async () => {
    handler = (_req, res) => json(res, 200, { devices: [] });
    await expect(driver().listDevices()).rejects.toMatchObject({ name: "GatewayRequestError", status: 200 });
    handler = (_req, res) => json(res, 401, { message: "Unauthorized" });
    await expect(driver().listDevices()).rejects.toMatchObject({ name: "GatewayRequestError", status: 401 });
  });
});

describe("SmsGate driver cancel", () => {
  const id = sms.id;

  it("deletes the message by our id and confirms only a Cancelled answer", async () => {
    handler = (_req, res) => json(res, 200, { id, state: "Cancelled", recipients: [] });
    expect(await driver().cancel(id)).toEqual({ kind: "cancelled", status: 200 });
    expect(seen[0]).toMatchObject({ method: "DELETE", url: `/3rdparty/v1/messages/${id}` });

    handler = (_req, res) => json(res, 200, { id, state: "Cancelling" });
    expect(await driver().cancel(id)).toMatchObject({ kind: "not_cancelled", state: "Cancelling", status: 200 });
  });

  it("reads 404 and 409 as answers about the message: not cancelled", async () => {
    for (const status of [404, 409]) {
      handler = (_req, res) => json(res, status, { message: "message is not pending" });
      expect(await driver().cancel(id)).toEqual({ kind: "not_cancelled", state: null, reason: "message is not pending", status });
    }
  });

  it("reads any other refusal, a 5xx, or no answer as unknown: nothing is proved", async () => {
    for (const status of [400, 401, 403, 405, 429, 500, 503]) {
      handler = (_req, res) => json(res, status, { message: `refused ${status}` });
      expect(await driver().cancel(id)).toEqual({ kind: "unknown", reason: `refused ${status}`, status });
    }
    handler = (_req, res) => void hung.add(res);
    expect(await driver({ timeoutMs: 200 }).cancel(id)).toMatchObject({ kind: "unknown", status: null });
  });
});

describe("SmsGate driver messageState", () => {
  const id = sms.id;

  it("reads the state the gateway holds, or not_found for a 404", async () => {
    handler = (_req, res) => json(res, 200, { id, state: "Cancelled", recipients: [] });
    expect(await driver().messageState(id)).toEqual({ kind: "state", state: "Cancelled" });
    expect(seen[0]).toMatchObject({ method: "GET", url: `/3rdparty/v1/messages/${id}` });

    handler = (_req, res) => json(res, 404, { message: "message not found" });
    expect(await driver().messageState(id)).toEqual({ kind: "not_found" });
  });

  it("answers unknown for a refusal, a body without a state, or no answer", async () => {
    handler = (_req, res) => json(res, 401, { message: "Unauthorized" });
    expect(await driver().messageState(id)).toEqual({ kind: "unknown", reason: "Unauthorized", status: 401 });
    handler = (_req, res) => json(res, 200, { id });
    expect(await driver().messageState(id)).toMatchObject({ kind: "unknown", status: 200 });
    handler = (_req, res) => void hung.add(res);
    expect(await driver({ timeoutMs: 200 }).messageState(id)).toMatchObject({ kind: "unknown", status: null });
  });
});
