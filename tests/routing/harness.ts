/**
 * A fleet of phones behind the whole pipeline, in one process over real HTTP (issue #15): the
 * gateway simulator with N accounts × 2 phones × 2 SIMs, the api, webhook-ingest and one or more
 * sender-worker replicas, on a database and a queue prefix of the fleet's own. The api creates
 * one shared gateway account per simulator account and syncs it, so every SIM is a sender.
 *
 * Routing scans every sender of its database and the sweeper every row: a private database
 * keeps other test files' senders and messages out of this fleet's decisions.
 */
import { and, count, eq, inArray, sql } from "drizzle-orm";
import { createDb, messageAttempts, messages, type DbHandle, type WaitingReason } from "@inboxerr/db";
import { createSmsGateDriver } from "@inboxerr/gateway";
import { TEST_SECRETS_KEY, startTestApi, type CallOptions, type TestApi } from "@inboxerr/api/testing";
import { startGateway, startSender, type TestSender } from "@inboxerr/sender-worker/testing";
import { SIGNING_KEY, startIngest, type Harness as IngestHarness } from "@inboxerr/webhook-ingest/testing";
import { createPrivateDatabase, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";

/** Webhook events the pipeline acts on (webhook-ingest's REGISTERED_EVENTS). */
const EVENTS = ["sms:sent", "sms:delivered", "sms:failed", "sms:received", "sms:cancelled"] as const;

/**
 * A clock that runs with real time from an offset the test moves: rate budgets still refill
 * while the day is whatever the test says. The budgets and the simulator's carrier days read it.
 */
export type TestClock = {
  now: () => number;
  advance(ms: number): void;
  /** Jumps to one minute past the next UTC midnight (a fresh day for every budget) and returns it. */
  nextUtcDay(): number;
};

function createTestClock(): TestClock {
  let offset = 0;
  const now = () => Date.now() + offset;
  return {
    now,
    advance: (ms) => void (offset += ms),
    nextUtcDay() {
      const day = new Date(now());
      const next = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1, 0, 1);
      offset += next - now();
      return next;
    },
  };
}

/**
 * Sender-worker knobs ADR 0019 adds (`SenderTuning` on h15/route): the budgets' clock, the
 * longest a waiting message's job sleeps before it routes again, how long routing waits after
 * Redis lost its budget keys before rebuilding them, and how old the sender cache may be.
 * Merged into `tuning` as is: if the names change, this type is the one place to align.
 */
export type RoutingTuning = {
  budgetClock?: () => number;
  maxWaitMs?: number;
  maxCapWaitMs?: number;
  budgetSettleMs?: number;
  senderCacheMs?: number;
};

/** A sender as GET /senders lists it (the fields the tests read). */
export type SenderJson = {
  id: string;
  accountId: string;
  deviceId: string;
  simNumber: number | null;
  phoneNumber: string | null;
  status: string;
  pausedReason: string | null;
  limits: { ratePerMinute: number | null; dailyCap: number | null; monthlyUniqueCap: number | null };
  usage: { today: number; monthUniqueRecipients: number };
};

type AccountOptions = {
  /** Where the api and workers reach this account's gateway (a proxy in front of the simulator). Default: the simulator. */
  baseUrl?: string;
  /** Register webhook-ingest's URL on it. Default true. */
  webhooks?: boolean;
};

/** One simulator account (its login) and the gateway account the api keeps for it. */
export type FleetAccount = { id: string; username: string; password: string };

type SimCounts = { sends: number; delivered: number; failed: number; limitFailed: number };
export type SimStats = {
  totalSends: number;
  duplicates: number;
  sendsById: Record<string, number>;
  outcomes: { delivered: number; failed: number };
  devices: Record<string, SimCounts & { sims: Record<string, SimCounts> }>;
};

export type FleetOptions = {
  /** Shared accounts made and synced at start (each 2 phones × 2 SIMs). Default 3: 12 senders. */
  accounts?: number;
  /** In-process sender-worker replicas started with the fleet. Default 1. */
  replicas?: number;
  /** Another Redis than the run's (a private redis-server the test may flush). */
  redisUrl?: string;
  /** Simulator: accepted → sent → delivered, each step this long. Default 20. */
  latencyMs?: number;
  /** Simulator: each online phone sends `system:ping` this often (ms). Default 0: no pings. */
  pingIntervalMs?: number;
  /** Extra sender-worker env (SENDER_CONCURRENCY, SEND_MAX_ATTEMPTS, ...). */
  senderEnv?: Record<string, string>;
  routing?: RoutingTuning;
};

export type PhoneFleet = Awaited<ReturnType<typeof startPhoneFleet>>;

/** Starts the fleet; `close()` stops everything and drops its database. */
export async function startPhoneFleet(opts: FleetOptions = {}) {
  const clock = createTestClock();
  const database = await createPrivateDatabase();
  const redisUrl = opts.redisUrl ?? testEnv().redisUrl;
  const prefix = `${testEnv().queuePrefix}:fleet-${uniqueSuffix()}`;
  const handle: DbHandle = createDb(database.url, { max: 4 });
  const simAccounts = Array.from({ length: opts.accounts ?? 3 }, (_, i) => ({
    username: `fleet-${i + 1}-${uniqueSuffix()}`,
    password: `fleet-password-${i + 1}`,
    signingKey: SIGNING_KEY,
  }));
  const closers: (() => Promise<unknown>)[] = [];
  const workers: TestSender[] = [];

  try {
    // Every account signs with webhook-ingest's key: it verifies at its one URL until per-account
    // URLs land (h15/ingest), and the same key stays valid for those.
    const gateway = await startGateway({
      signingKey: SIGNING_KEY,
      accounts: simAccounts,
      devices: 2,
      simsPerDevice: 2,
      latencyMs: opts.latencyMs ?? 20,
      pingIntervalMs: opts.pingIntervalMs ?? 0,
      clock: clock.now,
    });
    closers.push(() => gateway.close());
    const simBase = gateway.url.replace(/\/3rdparty\/v1$/, "");

    const api: TestApi = await startTestApi({
      config: { DATABASE_URL: database.url, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, SECRETS_KEY: TEST_SECRETS_KEY },
    });
    closers.push(() => api.stop());
    // `prefix`: new attempts' jobs (ingest adds them after a pre-transmission failure) must land
    // on the workers' queue. startIngest takes it once h15/ingest's harness does; until then the
    // sweeper re-adds a lost job within sweeperGraceMs (ADR 0019), only slower.
    // The api's SECRETS_KEY, so ingest opens the accounts' signing keys at their own URLs.
    const ingestOptions = { databaseUrl: database.url, prefix, secretsKey: TEST_SECRETS_KEY, ...(opts.redisUrl ? { redisUrl } : {}) };
    const ingest: IngestHarness = await startIngest(ingestOptions as Parameters<typeof startIngest>[0]);
    closers.push(() => ingest.close());
    const admin = await api.user("admin");

    /** A call to /api/v1 that must answer `status`, with the body as the failure message. */
    const expectCall = async (method: string, path: string, status: number, callOpts: CallOptions) => {
      const res = await api.call(method, `/api/v1${path}`, callOpts);
      if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
      return res.body;
    };

    /** Makes a gateway account for a simulator login (shared when `token` is an admin's and `shared`), syncs it, and registers ingest's webhook. */
    const addAccount = async (
      login: { username: string; password: string },
      token: string,
      shared: boolean,
      how: AccountOptions = {},
    ): Promise<FleetAccount> => {
      const body = {
        name: `phones-${login.username}`,
        baseUrl: how.baseUrl ?? gateway.url,
        username: login.username,
        password: login.password,
        webhookSigningKey: SIGNING_KEY,
        shared,
      };
      const account = await expectCall("POST", "/gateway-accounts", 201, { token, body });
      await expectCall("POST", `/gateway-accounts/${account.id}/sync`, 200, { token });
      const driver = createSmsGateDriver({ baseUrl: gateway.url, username: login.username, password: login.password, timeoutMs: 10_000 });
      // Reports at the legacy URL (it reaches every attempt); pings at the account's own URL
      // (ADR 0020), the only one that names this account's phones. Every account pings, so a
      // health pass (ADR 0022) never sees a phone that is online as dark.
      const register = (event: string, url: string) => driver.registerWebhook({ id: `inboxerr-${event.replace(":", "-")}`, url, event });
      await register("system:ping", `${ingest.url}/${account.id}`);
      if (how.webhooks !== false) for (const event of EVENTS) await register(event, ingest.url);
      return { id: account.id as string, username: login.username, password: login.password };
    };

    /** A private sender of a user of its own that only caughtUp() flips and probes. */
    let barrier: { token: string; senderId: string; paused: boolean } | undefined;

    const accounts: FleetAccount[] = [];
    for (const login of simAccounts) accounts.push(await addAccount(login, admin.token, true));

    const fleet = {
      clock,
      prefix,
      redisUrl,
      databaseUrl: database.url,
      db: handle.db,
      api,
      ingest,
      admin,
      accounts,
      gatewayUrl: gateway.url,
      /** The simulator's own base (before /3rdparty/v1 and /simulator). */
      simBase,
      /** Ids of the gateway's 202s with when each left it (all accounts). */
      gatewayAccepted: gateway.accepted,
      workers,

      /** Starts one more in-process sender-worker replica (sweeper, relay and sync timers on). */
      async startWorker(extra: { env?: Record<string, string>; routing?: RoutingTuning } = {}): Promise<TestSender> {
        const routing = { budgetClock: clock.now, maxWaitMs: 1_000, maxCapWaitMs: 1_000, budgetSettleMs: 2_000, senderCacheMs: 1_000, ...opts.routing, ...extra.routing };
        const worker = await startSender({
          gatewayUrl: gateway.url,
          prefix,
          databaseUrl: database.url,
          periodic: true,
          env: {
            REDIS_URL: redisUrl,
            SECRETS_KEY: TEST_SECRETS_KEY,
            SENDER_CONCURRENCY: "20",
            SWEEPER_INTERVAL_SECONDS: "1",
            SWEEPER_STALE_SECONDS: "10",
            SENDER_SYNC_SECONDS: "3600",
            ...opts.senderEnv,
            ...extra.env,
          },
          // ADR 0019's knobs ride along with the existing ones (see RoutingTuning).
          tuning: { sweeperGraceMs: 2_000, outboxMinAgeMs: 1_000, outboxIntervalMs: 500, ...routing } as Parameters<typeof startSender>[0]["tuning"],
        });
        workers.push(worker);
        return worker;
      },

      /** A control call to the simulator (`/simulator/...`). */
      async control(method: string, path: string, body?: unknown) {
        const res = await fetch(`${simBase}/simulator${path}`, {
          method,
          headers: { "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
      },
      /** One simulator account's stats (per device and SIM, sends by id). */
      async simStats(username: string): Promise<SimStats> {
        return (await (await fetch(`${simBase}/simulator/stats?account=${encodeURIComponent(username)}`)).json()) as SimStats;
      },
      /** Sends per sender id as the simulator counts them, over `accounts` (default: the fleet's). */
      async simSendsBySender(list: SenderJson[], extraAccounts: FleetAccount[] = []): Promise<Map<string, SimCounts>> {
        const bySim = new Map<string, SimCounts>();
        for (const a of [...accounts, ...extraAccounts]) {
          for (const [deviceId, d] of Object.entries((await fleet.simStats(a.username)).devices)) {
            for (const [sim, c] of Object.entries(d.sims)) bySim.set(`${deviceId}/${sim}`, c);
          }
        }
        return new Map(list.map((s) => [s.id, bySim.get(`${s.deviceId}/${s.simNumber}`) ?? { sends: 0, delivered: 0, failed: 0, limitFailed: 0 }]));
      },

      /** A call to /api/v1 that must answer `status`. */
      expectCall,
      /** Every sender `token` may see (an admin: all). */
      async senders(token = admin.token): Promise<SenderJson[]> {
        return (await expectCall("GET", "/senders", 200, { token })).data as SenderJson[];
      },
      async patchSender(id: string, body: Record<string, unknown>, token = admin.token): Promise<SenderJson> {
        return (await expectCall("PATCH", `/senders/${id}`, 200, { token, body })) as SenderJson;
      },
      /** Sets the same fields on many senders. */
      async patchSenders(ids: string[], body: Record<string, unknown>): Promise<void> {
        for (const id of ids) await fleet.patchSender(id, body);
      },
      /** A simulator account of its own (2 × 2 SIMs) as `token`'s private gateway account, synced. */
      async addPrivateAccount(token: string, how: AccountOptions = {}): Promise<FleetAccount> {
        const login = { username: `private-${uniqueSuffix()}`, password: "private-account-password", signingKey: SIGNING_KEY };
        const created = await fleet.control("POST", "/accounts", login);
        if (created.status !== 201) throw new Error(`simulator account: ${created.status}`);
        return addAccount(login, token, false, how);
      },

      /**
       * Resolves once the sender-worker's routing works from a snapshot of senders and accounts
       * taken after this call began (it caches them for `senderCacheMs`), so every PATCH made
       * before is seen. Flips a barrier sender's status and probes it with a pinned message until
       * routing acts on the new status. One replica's cache: with several, make the changes
       * before starting them.
       */
      async caughtUp(): Promise<void> {
        if (!barrier) {
          const user = await api.user();
          const account = await fleet.addPrivateAccount(user.token, { webhooks: false });
          const [sender] = ofAccounts(await fleet.senders(user.token), [account.id]);
          barrier = { token: user.token, senderId: sender!.id, paused: false };
        }
        const b = barrier;
        b.paused = !b.paused;
        await fleet.patchSender(b.senderId, { status: b.paused ? "paused" : "active" }, b.token);
        const want = b.paused ? "paused" : "sent";
        await waitFor(
          async () => {
            const probe = await fleet.send(b.token, { to: "+12025550100", text: "barrier", from: b.senderId });
            const decided = await waitFor(
              async () => {
                const m = await fleet.message(b.token, probe.id);
                return m.attemptCount > 0 ? "sent" : m.waitingReason === "paused" ? "paused" : null;
              },
              { timeoutMs: 10_000, intervalMs: 50, message: "the barrier probe is routed" },
            );
            return decided === want;
          },
          { timeoutMs: 30_000, intervalMs: 100, message: `routing sees the barrier sender ${want === "sent" ? "active" : "paused"}` },
        );
      },

      /** POST /messages; the message as the api answers it. */
      async send(token: string, body: Record<string, unknown>) {
        return expectCall("POST", "/messages", 202, { token, body });
      },
      /** POST /messages/bulk; the message ids in the order of `to`. */
      async bulk(token: string, to: string[], extra: Record<string, unknown> = {}): Promise<string[]> {
        const ids: string[] = [];
        for (let i = 0; i < to.length; i += 5_000) {
          const slice = to.slice(i, i + 5_000).map((t) => ({ to: t }));
          const res = await expectCall("POST", "/messages/bulk", 202, { token, body: { messages: slice, text: "Fleet test", ...extra } });
          if (res.rejected.length > 0) throw new Error(`bulk rejected ${JSON.stringify(res.rejected.slice(0, 3))}`);
          ids.push(...(res.messages as { id: string }[]).map((m) => m.id));
        }
        return ids;
      },
      async message(token: string, id: string) {
        return expectCall("GET", `/messages/${id}`, 200, { token });
      },

      /** Attempt rows of these messages, oldest first per message. */
      async attempts(ids: string[]) {
        const rows = [];
        for (let i = 0; i < ids.length; i += 5_000) {
          rows.push(
            ...(await handle.db
              .select()
              .from(messageAttempts)
              .where(inArray(messageAttempts.messageId, ids.slice(i, i + 5_000)))
              .orderBy(messageAttempts.messageId, messageAttempts.n)),
          );
        }
        return rows;
      },
      /** Attempt rows per sender id, over every message of the fleet's database. */
      async attemptsBySender(): Promise<Map<string, number>> {
        const rows = await handle.db.select({ senderId: messageAttempts.senderId, n: count() }).from(messageAttempts).groupBy(messageAttempts.senderId);
        return new Map(rows.map((r) => [r.senderId ?? "none", r.n]));
      },
      /** Message rows by status, over `ids`. */
      async statusCounts(ids: string[]): Promise<Record<string, number>> {
        const out: Record<string, number> = {};
        for (let i = 0; i < ids.length; i += 5_000) {
          const rows = await handle.db
            .select({ status: messages.status, n: count() })
            .from(messages)
            .where(inArray(messages.id, ids.slice(i, i + 5_000)))
            .groupBy(messages.status);
          for (const r of rows) out[r.status] = (out[r.status] ?? 0) + r.n;
        }
        return out;
      },
      /** Resolves once every one of `ids` is delivered or failed. */
      async settled(ids: string[], timeoutMs = 120_000): Promise<Record<string, number>> {
        return waitFor(
          async () => {
            const counts = await fleet.statusCounts(ids);
            return (counts.delivered ?? 0) + (counts.failed ?? 0) === ids.length && counts;
          },
          { timeoutMs, intervalMs: 250, message: `all ${ids.length} delivered or failed` },
        );
      },
      /** Resolves once `n` of `ids` have at least one attempt. */
      async attempted(ids: string[], n = ids.length, timeoutMs = 60_000): Promise<void> {
        await waitFor(
          async () => {
            const [row] = await handle.db
              .select({ n: sql<number>`count(distinct ${messageAttempts.messageId})::int` })
              .from(messageAttempts)
              .where(inArray(messageAttempts.messageId, ids));
            return (row?.n ?? 0) >= n;
          },
          { timeoutMs, intervalMs: 200, message: `${n} of ${ids.length} messages attempted` },
        );
      },
      /** Queued messages of `ids` whose waiting_reason is `reason`. */
      async waiting(ids: string[], reason: WaitingReason): Promise<number> {
        const [row] = await handle.db
          .select({ n: count() })
          .from(messages)
          .where(and(inArray(messages.id, ids), eq(messages.status, "queued"), eq(messages.waitingReason, reason)));
        return row?.n ?? 0;
      },

      /** Status, waiting reason and attempts of `ids` (at most 20), for a failure message. */
      async explain(ids: string[]): Promise<string> {
        const rows = await handle.db
          .select({ id: messages.id, status: messages.status, waitingReason: messages.waitingReason, senderId: messages.senderId })
          .from(messages)
          .where(inArray(messages.id, ids.slice(0, 20)));
        const attempts = await fleet.attempts(ids.slice(0, 20));
        return rows
          .map((r) => {
            const mine = attempts.filter((a) => a.messageId === r.id).map((a) => `#${a.n} ${a.status} via ${a.senderId} ${a.error ?? ""}`);
            return `${r.id}: ${r.status} waiting=${r.waitingReason} sender=${r.senderId} [${mine.join("; ")}]`;
          })
          .join("\n");
      },
      /** waitFor, whose timeout names the state of `ids`. */
      async until<T>(fn: () => Promise<T>, ids: string[], message: string, timeoutMs = 30_000): Promise<void> {
        try {
          await waitFor(fn, { timeoutMs, intervalMs: 200, message });
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${await fleet.explain(ids)}`, { cause: err });
        }
      },

      async close() {
        for (const w of workers.splice(0)) await w.close().catch(() => undefined);
        for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
        await handle.close();
        await database.drop().catch(() => undefined);
      },
    };

    for (let i = 0; i < (opts.replicas ?? 1); i++) await fleet.startWorker();
    return fleet;
  } catch (err) {
    for (const w of workers) await w.close().catch(() => undefined);
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await handle.close();
    await database.drop().catch(() => undefined);
    throw err;
  }
}

/** US area codes libphonenumber accepts (N11 codes such as 211 are not numbers). */
const AREA_CODES = [
  201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228, 229, 231, 234, 239, 240, 248, 251,
  252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281, 301, 302,
];

/** `n` (≤ 10,000) distinct E.164 recipients; a different `tag` (0..39) gives numbers no other tag has. */
export function recipients(n: number, tag: number): string[] {
  const area = AREA_CODES[tag];
  if (area === undefined || n > 10_000) throw new Error(`recipients(${n}, ${tag}): tag 0..${AREA_CODES.length - 1}, n ≤ 10,000`);
  return Array.from({ length: n }, (_, i) => `+1${area}555${String(i).padStart(4, "0")}`);
}

/** The senders a gateway account of `accountIds` holds. */
export const ofAccounts = (list: SenderJson[], accountIds: string[]) => list.filter((s) => accountIds.includes(s.accountId));
