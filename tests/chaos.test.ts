/**
 * Issue #13's chaos run, made permanent: 3,000 messages through all five services (two sender
 * replicas) while a sender is SIGKILLed twice, Redis crashes and comes back empty (while the
 * metrics-worker lags behind, so published events are lost with it), and Postgres goes down
 * and comes back. On its own Redis and Postgres (started here, never the shared ones).
 * What a user must still see: every message ends terminal, none reaches the gateway twice,
 * the metrics equal the rows, no service dies by itself, and Redis stays small.
 *
 * Each fault fires when the system has made some progress (a bounded poll on the message
 * rows), so it lands mid-flow; every check is a bounded poll on its condition.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed, onTestFinished } from "vitest";
import { runMigrations } from "@inboxerr/db/migrate";
import {
  createDatabase,
  hasRedisServer,
  postgresBinDir,
  sampleRedisMemory,
  startPostgresServer,
  startRedisServer,
  waitFor,
  withAdminClient,
  withDatabase,
  type PostgresServer,
  type RedisServer,
} from "@inboxerr/testing";
import { startFleet, type Fleet } from "./support/fleet";

const BULKS = 6;
const BULK_SIZE = 500;
const TOTAL = BULKS * BULK_SIZE;
const TERMINAL = ["delivered", "failed", "expired"];
/** The gateway has answered for these (or they ended before it). */
const PAST_SENDING = ["accepted", "sent", ...TERMINAL, "cancelled"];
/**
 * Measured: 25 MB peak (used_memory_peak) on the base of issue #13, finished jobs kept an hour
 * as configured. Twice that is the bound: jobs that store long errors and stack traces on every
 * retry during the outage blow past it.
 */
const REDIS_PEAK_BOUND_MB = 50;
const SENDER_CONCURRENCY = 50;
/**
 * Sends in flight that a fault can leave unrecorded, so retried: one replica's worth at each
 * SIGKILL, both replicas' at the Redis wipe and at the Postgres outage.
 */
const MAX_REPEATS = SENDER_CONCURRENCY * (1 + 1 + 2 + 2);
/** How long Postgres stays down: long enough that sends, webhooks and events meet the outage. */
const POSTGRES_OUTAGE_MS = 5_000;

// Skipped only on a developer's machine without the server binaries; in CI (CI set) their
// absence is a failure, so a green run always includes the chaos test.
const missing = [!postgresBinDir() && "initdb/pg_ctl (/usr/lib/postgresql/*/bin)", !hasRedisServer() && "redis-server"].filter(Boolean);
if (missing.length > 0 && process.env.CI) throw new Error(`chaos test: ${missing.join(" and ")} not installed, and CI must run it`);
const skipReason = missing.length > 0 ? `skipped: ${missing.join(" and ")} not installed` : "";
if (skipReason) console.warn(`chaos test ${skipReason}`);

let postgres: PostgresServer | undefined;
let redis: RedisServer | undefined;
let fleet: Fleet | undefined;
let databaseUrl: string;

beforeAll(async () => {
  if (skipReason) return;
  [postgres, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  await withAdminClient(postgres.url, (admin) => createDatabase(admin, "inboxerr"));
  databaseUrl = withDatabase(postgres.url, "inboxerr");
  await runMigrations(databaseUrl);
  fleet = await startFleet(
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: "{chaos}",
      JWT_SECRET: "chaos-jwt-secret-0123456789abcdef0123456789",
      SMSGATE_USERNAME: "chaos",
      SMSGATE_PASSWORD: "chaos-gateway-password",
      SMSGATE_WEBHOOK_SIGNING_KEY: "chaos-webhook-signing-key",
      // Repeats are bounded by the sends the faults leave in flight; a gateway call timing out
      // on a loaded machine would add repeats no fault made.
      SMSGATE_TIMEOUT_MS: "30000",
      SENDER_CONCURRENCY: String(SENDER_CONCURRENCY),
      SIMULATOR_LATENCY_MS: "300",
      SIMULATOR_FAILURE_RATE: "0.05",
      SIMULATOR_SEED: "chaos",
      // Short timers, so recovery from each fault fits the test's bounds.
      SWEEPER_STALE_SECONDS: "10",
      SWEEPER_INTERVAL_SECONDS: "1",
      METRICS_RECONCILE_INTERVAL_SECONDS: "2",
      METRICS_RECONCILE_AFTER_SECONDS: "5",
      LOG_LEVEL: "warn",
    },
    { "sender-worker": 2 },
  );
}, 180_000);

afterAll(async () => {
  await fleet?.stop(5_000);
  await redis?.stop();
  await postgres?.destroy();
}, 60_000);

const json = (res: Response): Promise<any> => res.json();
const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers },
  signal: AbortSignal.timeout(30_000),
});

/** Messages per status, straight from the rows (a fresh connection: it must survive the restart). */
async function statusCounts(): Promise<Record<string, number>> {
  return withAdminClient(databaseUrl, async (c) => {
    const { rows } = await c.query<{ status: string; n: number }>("select status, count(*)::int as n from messages group by status");
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  });
}

const sum = (counts: Record<string, number>, statuses: string[]) => statuses.reduce((n, s) => n + (counts[s] ?? 0), 0);

describe.skipIf(skipReason)(`chaos: sender SIGKILLs, a Redis wipe and a Postgres restart under 3,000 messages${skipReason ? ` (${skipReason})` : ""}`, () => {
  it("ends every message terminal, sends none twice, keeps metrics equal to the rows, no service dies, Redis stays small", async () => {
    const f = fleet!;
    const started = performance.now();
    const at = () => `+${((performance.now() - started) / 1000).toFixed(1)} s`;
    const phase = (what: string) => console.info(`chaos ${at()}: ${what}`);
    // The rows every 5 s, printed only on failure: where the flow stalled, and when.
    const trace: string[] = [];
    const tracer = setInterval(() => {
      statusCounts().then(
        (c) => trace.push(`${at()} ${JSON.stringify(c)}`),
        (err: Error) => trace.push(`${at()} ${err.message}`),
      );
    }, 5_000);
    onTestFinished(() => clearInterval(tracer));
    onTestFailed(() =>
      console.error(`chaos: rows per status over time\n${trace.join("\n")}\n\nthe services' last log lines\n${f.logs()}\n--- postgres\n${postgres!.log()}`),
    );
    const api = `${f.urls.api}/api/v1`;
    const email = "chaos@example.com";
    const password = "correct horse battery staple";
    expect((await fetch(`${api}/auth/register`, post({ email, password }))).status).toBe(201);
    const token = await json(await fetch(`${api}/auth/token`, post({ email, password })));
    const auth = { authorization: `Bearer ${token.access_token}` };
    const windowFrom = new Date(Date.now() - 60_000).toISOString();
    const memory = sampleRedisMemory(redis!.url);

    /** One bulk, retried under its Idempotency-Key through outages (503, refused connections). */
    const sendBulk = async (i: number, extra: Record<string, unknown> = {}) => {
      const messages = Array.from({ length: BULK_SIZE }, (_, j) => {
        const n = i * BULK_SIZE + j;
        return { to: `+1212555${String(n).padStart(4, "0")}`, variables: { n } };
      });
      const body = { messages, text: "Chaos #{{n}}", ...extra };
      const res = await waitFor(
        async () => {
          const r = await fetch(`${api}/messages/bulk`, post(body, { ...auth, "idempotency-key": `chaos-bulk-${i}` }));
          return r.status >= 500 || r.status === 409 ? null : { status: r.status, body: await json(r) };
        },
        { timeoutMs: 60_000, intervalMs: 500, message: `bulk ${i} accepted` },
      );
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(202);
      expect(res.body.accepted).toBe(BULK_SIZE);
      phase(`bulk ${i} accepted${extra.scheduledAt ? " (scheduled)" : ""}`);
    };
    /** Waits until `n` messages got past `sending`, the rest still on their way: the fault lands mid-flow. */
    const progressed = (n: number) =>
      waitFor(async () => sum(await statusCounts(), PAST_SENDING) >= n, {
        timeoutMs: 60_000,
        intervalMs: 250,
        message: `${n} messages past sending`,
      }).catch(async (err: Error) => {
        throw new Error(`${err.message}; rows now ${JSON.stringify(await statusCounts().catch(() => "unreadable"))}`);
      });

    await sendBulk(0);
    await sendBulk(1);
    await progressed(200);
    await f.killAndRestart("sender-worker#1");
    phase("sender-worker#1 SIGKILLed and restarted");

    await sendBulk(2);
    await sendBulk(3, { scheduledAt: new Date(Date.now() + 6_000).toISOString() });
    await progressed(600);
    // A lagging consumer: the events published meanwhile are still in Redis when it loses them.
    f.freeze("metrics-worker#1", true);
    await progressed(700);
    await redis!.restartEmpty();
    f.freeze("metrics-worker#1", false);
    phase("redis SIGKILLed and restarted empty, with metrics-worker frozen (SIGSTOP) until then");

    await sendBulk(4);
    await progressed(1_200);
    await postgres!.restart({ downMs: POSTGRES_OUTAGE_MS });
    phase("postgres stopped (fast) and started again");

    await sendBulk(5);
    await progressed(1_800);
    await f.killAndRestart("sender-worker#2");
    phase("sender-worker#2 SIGKILLed and restarted");

    // Every message ends terminal.
    const settled = await waitFor(async () => sum(await statusCounts(), TERMINAL) === TOTAL, {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: "every message terminal",
    }).catch(() => false);
    const rows = await statusCounts();
    phase(`rows ${JSON.stringify(rows)}`);
    expect.soft(settled, `not every message ended terminal: ${JSON.stringify(rows)}`).toBe(true);

    // None sent twice. A send whose answer the sender could not record (SIGKILLed, Redis or
    // Postgres gone before the write) is retried with the same id and the gateway answers 409
    // instead of sending again (invariant 2): such repeats are allowed, no second 202 is, and
    // repeats can only come from sends in flight at a fault.
    const stats = await json(await fetch(`${f.urls["gateway-simulator"]}/simulator/stats`));
    const sends = Object.values(stats.sendsById as Record<string, number>);
    const repeats = sends.reduce((a, n) => a + n, 0) - sends.length;
    phase(`simulator: ${stats.totalSends} sends accepted, ${stats.duplicates} repeats refused (409), outcomes ${JSON.stringify(stats.outcomes)}`);
    // A later attempt (`<id>-r<n>`) is a second gateway id for one message: none is expected
    // here (the simulator fails sent messages only for reasons that follow a transmission, and
    // no SIM has a carrier limit). Named, so a failure says which messages to look at.
    const laterAttempts = Object.keys(stats.sendsById).filter((id) => /-r\d+$/.test(id));
    expect.soft(laterAttempts, "later attempts (a second gateway id for a message)").toEqual([]);
    expect.soft(sends.length, "messages that reached the gateway").toBe(TOTAL);
    expect.soft(stats.totalSends, "sends the gateway accepted (202): one per message").toBe(sends.length);
    expect.soft(repeats, "every repeat was refused as one (409)").toBe(stats.duplicates);
    expect.soft(stats.duplicates, "repeats beyond what the faults left in flight").toBeLessThanOrEqual(MAX_REPEATS);

    // The metrics equal the rows, and the funnel reads as one (accepted ≥ sent ≥ delivered).
    const until = new Date(Date.now() + 60_000).toISOString();
    const summary = async () => (await json(await fetch(`${api}/metrics/summary?from=${windowFrom}&to=${until}`, { headers: auth }))).counts;
    const matches = (m: Record<string, number>) => TERMINAL.every((s) => (m[s] ?? 0) === (rows[s] ?? 0));
    const metricsMatched = await waitFor(async () => matches(await summary()), { timeoutMs: 30_000, intervalMs: 500 }).catch(() => false);
    const metrics = await summary();
    phase(`metrics ${JSON.stringify(metrics)}`);
    expect.soft(metricsMatched, `metrics ${JSON.stringify(metrics)} never matched the rows ${JSON.stringify(rows)}`).toBe(true);
    expect.soft(metrics.accepted, "funnel: accepted ≥ sent").toBeGreaterThanOrEqual(metrics.sent);
    expect.soft(metrics.sent, "funnel: sent ≥ delivered").toBeGreaterThanOrEqual(metrics.delivered);

    // No service exited by itself: the only deaths are the two SIGKILLs above.
    const unexpected = f.exits().filter((e) => !e.killedByTest);
    expect.soft(unexpected, "services that exited by themselves").toEqual([]);
    expect.soft(f.exits().filter((e) => e.killedByTest)).toHaveLength(2);

    // Redis stayed small: work in flight only, short job errors, no stack traces.
    const { peakMb, samples } = await memory.stop();
    phase(`redis peak used_memory ${peakMb.toFixed(1)} MB over ${samples} samples`);
    expect(samples).toBeGreaterThan(10);
    expect.soft(peakMb, "Redis peak used_memory, MB").toBeLessThan(REDIS_PEAK_BOUND_MB);

    // And after all that, each service still shuts down cleanly on SIGTERM.
    const exits = await f.stop();
    expect.soft(exits, "exit codes on SIGTERM").toEqual(Object.fromEntries(f.labels().map((l) => [l, 0])));
    phase("done");
  }, 300_000);
});
