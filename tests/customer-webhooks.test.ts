/**
 * Customers' webhooks through the whole system (issue 17): six services as separate processes,
 * as `pnpm start` runs them. A bulk of 1,000 goes in through the api; a receiver registered as
 * a webhook endpoint must get exactly one terminal event per message (message.delivered or
 * message.failed, deduplicated by webhook-id), each signed so the standardwebhooks package
 * verifies it, and one batch.completed.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRETS_KEY } from "@inboxerr/api/testing";
import { createPrivateDatabase, waitFor } from "@inboxerr/testing";
import { startSystem, type RunningSystem } from "../scripts/system";
import { json, post, registerUser, stopCleanly } from "./support/client";

const TOTAL = 1_000;
let system: RunningSystem;
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let api: string;
let auth: Record<string, string>;

type Received = { id: string; type: string; data: any; verified: boolean };
const received: Received[] = [];
let receiver: Server;
let receiverUrl: string;
let secret = "";

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let verified = false;
      let parsed: any;
      try {
        parsed = new Webhook(secret).verify(body, req.headers as Record<string, string>);
        verified = true;
      } catch {
        parsed = JSON.parse(body);
      }
      received.push({ id: String(req.headers["webhook-id"]), type: parsed.type, data: parsed.data, verified });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  database = await createPrivateDatabase();
  system = await startSystem({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:cwh-${randomUUID().slice(0, 8)}`,
    JWT_SECRET: "cwh-jwt-secret-0123456789abcdef0123456789",
    SECRETS_KEY: TEST_SECRETS_KEY,
    SMSGATE_USERNAME: "cwh",
    SMSGATE_PASSWORD: "cwh-gateway-password",
    SMSGATE_WEBHOOK_SIGNING_KEY: "cwh-webhook-signing-key",
    SIMULATOR_LATENCY_MS: "20",
    SIMULATOR_FAILURE_RATE: "0.1",
    SIMULATOR_SEED: "cwh",
    SMSGATE_TIMEOUT_MS: "30000",
    WEBHOOK_ALLOW_INSECURE: "true",
    WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
    WEBHOOK_RETRY_SCHEDULE: "0,1,1,2,2,3",
    LOG_LEVEL: "warn",
  });
  api = `${system.urls.api}/api/v1`;
  auth = await registerUser(api, "cwh");
}, 120_000);

afterAll(async () => {
  receiver?.close();
  if (!system) return;
  // Every service, the dispatcher included, shuts down cleanly on SIGTERM.
  await stopCleanly(system, database);
}, 60_000);

describe("customers' webhooks through six processes", () => {
  it("delivers exactly one signed terminal event per message of a 1,000 bulk, and one batch.completed", async () => {
    const created = await fetch(`${api}/webhook-endpoints`, post({ url: receiverUrl, events: ["message.delivered", "message.failed", "batch.completed"] }, auth));
    const endpoint = await json(created);
    expect(created.status, JSON.stringify(endpoint)).toBe(201);
    expect(endpoint.secret).toMatch(/^whsec_/);
    secret = endpoint.secret;

    const messages = Array.from({ length: TOTAL }, (_, i) => ({ to: `+1212555${String(i).padStart(4, "0")}` }));
    const res = await fetch(`${api}/messages/bulk`, post({ messages, text: "Hello from Inboxerr" }, auth));
    const bulk = await json(res);
    expect(res.status, JSON.stringify(bulk).slice(0, 500)).toBe(202);
    expect(bulk.accepted).toBe(TOTAL);

    const terminal = () => received.filter((r) => r.type === "message.delivered" || r.type === "message.failed");
    await waitFor(
      async () => new Set(terminal().map((r) => r.data.id)).size === TOTAL && received.some((r) => r.type === "batch.completed"),
      { timeoutMs: 180_000, intervalMs: 500, message: "the receiver never had every message's terminal event and the batch's completion" },
    ).catch((err: Error) => {
      const got = new Set(terminal().map((r) => r.data.id)).size;
      throw new Error(`${err.message}: ${got} of ${TOTAL} messages\n${system.logs("webhook-dispatcher")}`);
    });

    // Every request verified under the endpoint's secret.
    expect(received.filter((r) => !r.verified)).toEqual([]);
    // At least once, never under two ids: one webhook-id per (message, type), and each message
    // ended exactly one way.
    const idsPerEvent = new Map<string, Set<string>>();
    for (const r of terminal()) idsPerEvent.set(`${r.data.id}:${r.type}`, (idsPerEvent.get(`${r.data.id}:${r.type}`) ?? new Set()).add(r.id));
    expect([...idsPerEvent.values()].filter((ids) => ids.size !== 1)).toEqual([]);
    expect(idsPerEvent.size).toBe(TOTAL);

    // The outcomes are the batch's: as many delivered/failed events as messages in each status.
    const batch = await json(await fetch(`${api}/batches/${bulk.batchId}`, { headers: auth }));
    const kinds = [...idsPerEvent.keys()].map((k) => k.split(":")[1]);
    expect(kinds.filter((k) => k === "message.delivered")).toHaveLength(batch.counts.delivered);
    expect(kinds.filter((k) => k === "message.failed")).toHaveLength(batch.counts.failed);
    expect(batch.counts.failed).toBeGreaterThan(0);
    // A message event's data is the message as the api shows it, its status the event's.
    const sample = terminal()[0]!;
    expect(sample.data).toMatchObject({ batchId: bulk.batchId, status: sample.type.slice("message.".length) });

    const completions = received.filter((r) => r.type === "batch.completed");
    expect(new Set(completions.map((r) => r.id)).size).toBe(1);
    expect(completions[0]!.data).toMatchObject({ id: bulk.batchId, total: TOTAL });

    // Replay: every delivery since the endpoint was made goes again, under its original id.
    const originalIds = new Set(received.map((r) => r.id));
    const firstRound = received.length;
    const replay = await fetch(`${api}/webhook-endpoints/${endpoint.id}/replay`, post({ since: endpoint.createdAt }, auth));
    const replayed = await json(replay);
    expect(replay.status, JSON.stringify(replayed)).toBe(202);
    expect(replayed.replayed).toBe(originalIds.size);
    await waitFor(() => new Set(received.slice(firstRound).map((r) => r.id)).size === originalIds.size, {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: "every delivery replayed",
    });
    const again = received.slice(firstRound);
    expect(again.every((r) => originalIds.has(r.id) && r.verified)).toBe(true);
  }, 420_000);
});
