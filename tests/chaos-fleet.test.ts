/**
 * Issue #16's chaos run: 2,000 messages through all five services (two sender replicas) on a
 * simulated fleet of 4 phones, while one phone flaps (dark 5 s, back 3 s, for the whole run)
 * and each sender replica is SIGKILLed once. Offline after 2 s of silence, failover 2 s after
 * acceptance (ADR 0022), so the flapping phone's held messages are cancelled and moved while
 * the workers die under them. What a user must still see: every message delivered, none lost,
 * none sent by two phones (the simulator's own count of transmissions), no service dead by itself.
 * On the shared Postgres and Redis, with a database and queue prefix of its own.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createPrivateDatabase, testEnv, uniqueSuffix, waitFor, withAdminClient } from "@inboxerr/testing";
import { startFleet, type Fleet } from "./support/fleet";

const BULKS = 4;
const BULK_SIZE = 500;
const TOTAL = BULKS * BULK_SIZE;
const GATEWAY = { username: "fleet-chaos", password: "fleet-chaos-gateway-password" };

let fleet: Fleet | undefined;
let database: { url: string; drop: () => Promise<void> } | undefined;

beforeAll(async () => {
  database = await createPrivateDatabase();
  fleet = await startFleet(
    {
      DATABASE_URL: database.url,
      REDIS_URL: testEnv().redisUrl,
      QUEUE_PREFIX: `${testEnv().queuePrefix}:fleet-chaos-${uniqueSuffix()}`,
      JWT_SECRET: "fleet-chaos-jwt-secret-0123456789abcdef0123456789",
      SMSGATE_USERNAME: GATEWAY.username,
      SMSGATE_PASSWORD: GATEWAY.password,
      SMSGATE_WEBHOOK_SIGNING_KEY: "fleet-chaos-webhook-signing-key",
      SMSGATE_TIMEOUT_MS: "30000",
      SENDER_CONCURRENCY: "50",
      SIMULATOR_DEVICES: "4",
      SIMULATOR_PING_SECONDS: "0.5",
      SIMULATOR_LATENCY_MS: "100",
      SIMULATOR_FAILURE_RATE: "0",
      SIMULATOR_SEED: "fleet-chaos",
      // The default account's 4 phones are found by the first sync, webhooks registered on it.
      SENDER_SYNC_SECONDS: "2",
      SENDER_OFFLINE_AFTER_SECONDS: "2",
      FAILOVER_AFTER_SECONDS: "2",
      SWEEPER_STALE_SECONDS: "10",
      SWEEPER_INTERVAL_SECONDS: "1",
      LOG_LEVEL: "warn",
    },
    { "sender-worker": 2 },
  );
}, 180_000);

afterAll(async () => {
  await fleet?.stop(5_000);
  await database?.drop().catch(() => undefined);
}, 60_000);

const json = (res: Response): Promise<any> => res.json();
const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers },
  signal: AbortSignal.timeout(30_000),
});

async function sql<T>(text: string): Promise<T[]> {
  return withAdminClient(database!.url, async (c) => (await c.query(text)).rows as T[]);
}

const statusCounts = async () =>
  Object.fromEntries((await sql<{ status: string; n: number }>("select status, count(*)::int as n from messages group by status")).map((r) => [r.status, r.n]));

describe("chaos on a fleet: a flapping phone and two sender SIGKILLs under 2,000 messages", () => {
  it("delivers every message once, moves the dark phone's held messages to other phones, and no service dies by itself", async () => {
    const f = fleet!;
    onTestFailed(() => console.error(`fleet chaos: the services' last log lines\n${f.logs()}`));
    const sim = f.urls["gateway-simulator"];
    const api = `${f.urls.api}/api/v1`;
    const email = "fleet-chaos@example.com";
    const password = "correct horse battery staple";
    expect((await fetch(`${api}/auth/register`, post({ email, password }))).status).toBe(201);
    const token = await json(await fetch(`${api}/auth/token`, post({ email, password })));
    const auth = { authorization: `Bearer ${token.access_token}` };

    // The first sync makes the 4 phones senders; until then the env's one device would send.
    await waitFor(async () => (await sql<{ n: number }>("select count(*)::int as n from senders where status = 'active'"))[0]!.n === 4, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: "4 active senders",
    });
    const devices = Object.keys((await json(await fetch(`${sim}/simulator/stats`))).devices as Record<string, unknown>);
    expect(devices).toHaveLength(4);
    const flapper = devices[0]!;

    // One phone flaps for the whole run.
    let flapping = true;
    const flaps = (async () => {
      let n = 0;
      while (flapping) {
        await fetch(`${sim}/simulator/devices/${flapper}/offline`, { method: "POST" });
        await new Promise((r) => setTimeout(r, 5_000));
        await fetch(`${sim}/simulator/devices/${flapper}/online`, { method: "POST" });
        n += 1;
        if (flapping) await new Promise((r) => setTimeout(r, 3_000));
      }
      return n;
    })();

    const sendBulk = async (i: number) => {
      const messages = Array.from({ length: BULK_SIZE }, (_, j) => ({ to: `+1312555${String(i * BULK_SIZE + j).padStart(4, "0")}` }));
      const res = await fetch(`${api}/messages/bulk`, post({ messages, text: "Fleet chaos" }, { ...auth, "idempotency-key": `fleet-chaos-${i}` }));
      expect(res.status).toBe(202);
    };
    const progressed = (n: number) =>
      waitFor(async () => (await sql<{ n: number }>("select count(*)::int as n from message_attempts"))[0]!.n >= n, {
        timeoutMs: 90_000,
        intervalMs: 250,
        message: `${n} attempts made`,
      });

    await sendBulk(0);
    await sendBulk(1);
    await progressed(400);
    await f.killAndRestart("sender-worker#1");
    await sendBulk(2);
    await progressed(1_100);
    await f.killAndRestart("sender-worker#2");
    await sendBulk(3);

    const settled = await waitFor(async () => (await statusCounts()).delivered === TOTAL, { timeoutMs: 180_000, intervalMs: 500 }).catch(() => false);
    flapping = false;
    const flapCount = await flaps;
    // Back online for good: nothing it still holds may be a message that went elsewhere.
    await fetch(`${sim}/simulator/devices/${flapper}/online`, { method: "POST" });
    const rows = await statusCounts();
    expect(settled, `not every message delivered: ${JSON.stringify(rows)}`).toBe(true);
    expect(flapCount).toBeGreaterThan(0);

    // Each message has exactly one delivered attempt; the others were cancelled at the gateway.
    const attempts = await sql<{ id: string; message_id: string; status: string }>("select id, message_id, status from message_attempts");
    const delivered = attempts.filter((a) => a.status === "delivered");
    expect(delivered).toHaveLength(TOTAL);
    expect(new Set(delivered.map((a) => a.message_id)).size).toBe(TOTAL);
    const cancelled = attempts.filter((a) => a.status === "cancelled");
    expect(attempts.filter((a) => a.status !== "delivered" && a.status !== "cancelled")).toEqual([]);
    const basic = `Basic ${Buffer.from(`${GATEWAY.username}:${GATEWAY.password}`).toString("base64")}`;
    for (const a of cancelled) {
      const res = await fetch(`${sim}/3rdparty/v1/messages/${a.id}`, { headers: { authorization: basic } });
      expect(((await res.json()) as { state: string }).state, `attempt ${a.id}`).toBe("Cancelled");
    }

    // None sent by two phones: the simulator played out exactly one transmission per message,
    // and accepted each attempt id once (a retried send after a SIGKILL is refused as a 409).
    await waitFor(async () => (await json(await fetch(`${sim}/simulator/stats`))).outcomes.delivered >= TOTAL, { timeoutMs: 30_000, intervalMs: 250 });
    const stats = await json(await fetch(`${sim}/simulator/stats`));
    console.info(
      `fleet chaos: ${flapCount} flaps, ${cancelled.length} attempts failed over, simulator ${JSON.stringify({ totalSends: stats.totalSends, duplicates: stats.duplicates, outcomes: stats.outcomes })}`,
    );
    expect(stats.outcomes).toEqual({ delivered: TOTAL, failed: 0 });
    expect(stats.totalSends).toBe(attempts.length);

    const unexpected = f.exits().filter((e) => !e.killedByTest);
    expect(unexpected, "services that exited by themselves").toEqual([]);
    expect(await f.stop()).toEqual(Object.fromEntries(f.labels().map((l) => [l, 0])));
  }, 420_000);
});
