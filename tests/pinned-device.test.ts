/**
 * A `default` account with SMSGATE_DEVICE_ID set and a second phone, as the README asks of a
 * multi-phone account: discovery makes senders of both phones and routing sends through both,
 * so webhook-ingest must hear both. With its webhooks registered for the pinned phone alone,
 * every message routed to the other one stayed `accepted` forever (pnpm bench e2e lost a
 * third: two senders on the pinned phone, one on the other).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateDatabase, waitFor } from "@inboxerr/testing";
import { startSystem, type RunningSystem } from "../scripts/system";
import { getJson, json, post, registerUser, stopCleanly } from "./support/client";

const TOTAL = 300;
const PINNED = "pinnedDevice000000001";
let system: RunningSystem;
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let api: string;
let auth: Record<string, string>;

beforeAll(async () => {
  database = await createPrivateDatabase();
  system = await startSystem(
    {
      DATABASE_URL: database.url,
      QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:pinned-${randomUUID().slice(0, 8)}`,
      JWT_SECRET: "pinned-jwt-secret-0123456789abcdef0123456789",
      SMSGATE_USERNAME: "pinned",
      SMSGATE_PASSWORD: "pinned-gateway-password",
      SMSGATE_WEBHOOK_SIGNING_KEY: "pinned-webhook-signing-key",
      SMSGATE_DEVICE_ID: PINNED,
      SIMULATOR_DEVICES: "2",
      SIMULATOR_LATENCY_MS: "20",
      SIMULATOR_FAILURE_RATE: "0.1",
      SIMULATOR_SEED: "pinned",
      SMSGATE_TIMEOUT_MS: "30000",
      LOG_LEVEL: "warn",
    },
    { only: ["gateway-simulator", "webhook-ingest", "api", "sender-worker"] },
  );
  api = `${system.urls.api}/api/v1`;
  auth = await registerUser(api, "pinned");
}, 90_000);

afterAll(async () => {
  if (!system) return;
  await stopCleanly(system, database);
}, 60_000);

describe("a default account with a pinned device and a second phone", () => {
  it("settles every message, those sent through the unpinned phone included", async () => {
    // The sender-worker's first sync (within 5 s of boot) makes the second phone a sender.
    const other = await waitFor(
      async () => {
        const { data } = await getJson(`${api}/senders`, auth);
        return (data as { deviceId: string }[]).find((s) => s.deviceId !== PINNED)?.deviceId ?? null;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "the second phone never became a sender" },
    );

    const messages = Array.from({ length: TOTAL }, (_, i) => ({ to: `+1212555${String(i).padStart(4, "0")}` }));
    const res = await fetch(`${api}/messages/bulk`, post({ messages, text: "Hello from Inboxerr" }, auth));
    const bulk = await json(res);
    expect(res.status, JSON.stringify(bulk).slice(0, 500)).toBe(202);
    expect(bulk.accepted).toBe(TOTAL);

    const batch = await waitFor(
      async () => {
        const b = await getJson(`${api}/batches/${bulk.batchId}`, auth);
        // Thrown, so a timeout reports where the messages were left.
        if ((b.counts.delivered ?? 0) + (b.counts.failed ?? 0) !== TOTAL) throw new Error(`counts ${JSON.stringify(b.counts)}`);
        return b;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: "not every message reached a final status" },
    );

    const stats = await json(await fetch(`${system.urls["gateway-simulator"]}/simulator/stats`));
    // Both phones sent some of them: the test covers what it says.
    expect(stats.devices[PINNED].sends).toBeGreaterThan(0);
    expect(stats.devices[other].sends).toBeGreaterThan(0);
    expect(stats.totalSends).toBe(TOTAL);
    expect(batch.counts.delivered).toBe(stats.outcomes.delivered);
    expect(batch.counts.failed).toBe(stats.outcomes.failed);
  }, 180_000);
});
