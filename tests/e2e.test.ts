/**
 * The whole system as a user meets it: five services as separate processes (as `pnpm start`
 * runs them), real HTTP between them, the simulator as the gateway. A bulk of 2,000 goes in
 * through the api; every message must end where the simulator decided, counted once.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateDatabase, waitFor } from "@inboxerr/testing";
import { startSystem, type RunningSystem } from "../scripts/system";
import { getJson, json, post, registerUser, stopCleanly } from "./support/client";

const TOTAL = 2_000;
let system: RunningSystem;
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let api: string;
let auth: Record<string, string>;

beforeAll(async () => {
  // The sweeper and relay act on their whole database: give them one no other test uses.
  database = await createPrivateDatabase();
  system = await startSystem({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:e2e-${randomUUID().slice(0, 8)}`,
    JWT_SECRET: "e2e-jwt-secret-0123456789abcdef0123456789",
    SMSGATE_USERNAME: "e2e",
    SMSGATE_PASSWORD: "e2e-gateway-password",
    SMSGATE_WEBHOOK_SIGNING_KEY: "e2e-webhook-signing-key",
    SIMULATOR_LATENCY_MS: "50",
    SIMULATOR_FAILURE_RATE: "0.1",
    SIMULATOR_SEED: "e2e",
    SWEEPER_INTERVAL_SECONDS: "2",
    // A send that times out is retried and answered 409 (invariant 2): on a loaded machine the
    // default 10 s could expire and the "no repeat" assertion below would misread it.
    SMSGATE_TIMEOUT_MS: "30000",
    LOG_LEVEL: "warn",
  });
  api = `${system.urls.api}/api/v1`;
  auth = await registerUser(api, "e2e");
}, 90_000);

afterAll(async () => {
  if (!system) return;
  // Every service shuts down cleanly on SIGTERM.
  await stopCleanly(system, database);
}, 60_000);

describe("end to end through five processes", () => {
  it("delivers or fails every message of a 2,000 bulk exactly as the simulator decided, counted once", async () => {
    const started = new Date(Date.now() - 60_000).toISOString();
    const messages = Array.from({ length: TOTAL }, (_, i) => ({ to: `+1212555${String(i).padStart(4, "0")}`, variables: { n: i } }));
    const res = await fetch(`${api}/messages/bulk`, post({ messages, text: "Hello #{{n}} from Inboxerr" }, auth));
    const bulk = await json(res);
    expect(res.status, JSON.stringify(bulk).slice(0, 500)).toBe(202);
    expect(bulk.accepted).toBe(TOTAL);
    expect(bulk.rejected).toEqual([]);

    const batch = await waitFor(
      async () => {
        const b = await getJson(`${api}/batches/${bulk.batchId}`, auth);
        return (b.counts.delivered ?? 0) + (b.counts.failed ?? 0) === TOTAL ? b : null;
      },
      { timeoutMs: 150_000, intervalMs: 1_000, message: `not every message reached a final status\n${system.logs()}` },
    );
    expect(batch.total).toBe(TOTAL);

    const stats = await json(await fetch(`${system.urls["gateway-simulator"]}/simulator/stats`));
    expect(stats.totalSends).toBe(TOTAL);
    expect(stats.duplicates).toBe(0);
    const ids = Object.keys(stats.sendsById);
    expect(ids).toHaveLength(TOTAL);
    expect(Object.values(stats.sendsById).every((n) => n === 1)).toBe(true);
    expect(batch.counts.delivered).toBe(stats.outcomes.delivered);
    expect(batch.counts.failed).toBe(stats.outcomes.failed);
    expect(stats.outcomes.failed).toBeGreaterThan(0);

    // The metrics pipeline (outbox → queue → metrics-worker) agrees with the rows.
    const until = new Date(Date.now() + 60_000).toISOString();
    const summary = await waitFor(
      async () => {
        const s = await getJson(`${api}/metrics/summary?from=${started}&to=${until}`, auth);
        return s.counts.delivered === batch.counts.delivered && s.counts.failed === batch.counts.failed ? s : null;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: "metrics never matched the message rows" },
    );
    expect(summary.deliveryRate).toBeCloseTo(batch.counts.delivered / TOTAL, 5);
  }, 240_000);
});
