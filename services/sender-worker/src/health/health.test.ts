import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sendJobId } from "@inboxerr/contracts";
import { ensureDefaultAccount, senders, type Sender } from "@inboxerr/db";
import { createSmsGateDriver } from "@inboxerr/gateway";
import { createPrivateDatabase, createTestUser, insertMessages, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { addAccount, addSenders, GATEWAY_CREDENTIALS, startGateway, startSender, TEST_SECRETS_KEY, testPrefix, type TestSender } from "../testing/harness";
import { messageRow } from "../testing/messages";
import type * as ConfirmedCancels from "./confirmed-cancels";
import { healthIntervalMs } from "./health-pass";

// Failover's confirmed path goes through the status writer; watched here, and played for real.
const writer = vi.hoisted(() => ({ calls: [] as string[][] }));
vi.mock("./confirmed-cancels", async (importOriginal) => {
  const real = await importOriginal<typeof ConfirmedCancels>();
  return {
    applyConfirmedCancels: (...args: Parameters<typeof real.applyConfirmedCancels>) => {
      writer.calls.push([...args[1]]);
      return real.applyConfirmedCancels(...args);
    },
  };
});

// A database of its own: the health pass acts on every sender there.
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
/** Periodic off, the send worker not started: tests run the pass by hand and see its jobs wait. */
let sender: TestSender;
/**
 * The hand-driven replica: a minute's silence makes a sender unseen, so a second pass within a
 * slow test still finds failover's earlier question recent. The periodic one below uses 2 s.
 */
const ENV = { SENDER_OFFLINE_AFTER_SECONDS: "60", FAILOVER_AFTER_SECONDS: "60", SECRETS_KEY: TEST_SECRETS_KEY };

const simBase = () => gateway.url.replace(/\/3rdparty\/v1$/, "");
async function setDevice(deviceId: string, state: "offline" | "online") {
  const res = await fetch(`${simBase()}/simulator/devices/${deviceId}/${state}`, { method: "POST" });
  expect(res.status).toBe(204);
}

type EventRow = { sender_id: string; owner_user_id: string | null; type: string; payload: Record<string, unknown> };
async function eventsOf(senderId: string): Promise<EventRow[]> {
  const { rows } = await sender.dbHandle.pool.query<EventRow>(
    "select sender_id, owner_user_id, type, payload from sender_events where sender_id = $1 order by occurred_at, created_at",
    [senderId],
  );
  return rows;
}
const senderRow = async (id: string): Promise<Sender> => (await sender.db.select().from(senders).where(eq(senders.id, id)))[0]!;
const metric = async (name: string, labels: Record<string, string> = {}) =>
  (await sender.registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;

beforeAll(async () => {
  [database, gateway] = await Promise.all([createPrivateDatabase(), startGateway({ devices: 2 })]);
  sender = await startSender({
    gatewayUrl: gateway.url,
    prefix: testPrefix(),
    databaseUrl: database.url,
    autostart: false,
    env: ENV,
    tuning: { senderCacheMs: 0 },
  });
});
afterAll(async () => {
  await sender?.close();
  await gateway?.close();
  await database?.drop();
});

describe("health pass", () => {
  it("runs every tenth of SENDER_OFFLINE_AFTER_SECONDS, within 1..30 s", () => {
    expect([2, 60, 600, 3_600].map(healthIntervalMs)).toEqual([1_000, 6_000, 30_000, 30_000]);
  });

  it("puts a phone that stops reporting offline and back online, with one event each, and leaves a paused sender paused", async () => {
    // A replica with its periodic duties on: the sync keeps last_seen_at fresh from the
    // simulator's lastSeen, the health pass (every second) judges it.
    const live = await startSender({
      gatewayUrl: gateway.url,
      prefix: testPrefix(),
      databaseUrl: database.url,
      autostart: false,
      env: { ...ENV, SENDER_OFFLINE_AFTER_SECONDS: "2", SENDER_SYNC_SECONDS: "0.3" },
    });
    try {
      const { accountId } = await ensureDefaultAccount(live.db, live.config);
      const [dark, pausedDark] = gateway.deviceIds();
      live.sender.start({ periodic: true });
      const synced = await waitFor(
        async () => {
          const rows = await live.db.select().from(senders).where(eq(senders.accountId, accountId));
          return rows.length === 2 && rows.every((s) => s.lastSeenAt) ? rows : null;
        },
        { message: "both phones synced as senders" },
      );
      const a = synced.find((s) => s.deviceId === dark)!;
      const b = synced.find((s) => s.deviceId === pausedDark)!;
      // An admin's pause (PATCH /senders/:id) must outlast the phone going dark.
      await live.db.update(senders).set({ status: "paused", pausedReason: "maintenance", statusChangedAt: sql`now()` }).where(eq(senders.id, b.id));

      await Promise.all([setDevice(dark!, "offline"), setDevice(pausedDark!, "offline")]);
      await waitFor(async () => (await senderRow(a.id)).status === "offline", { timeoutMs: 20_000, message: "the dark phone's sender offline" });
      const offline = await eventsOf(a.id);
      expect(offline.map((e) => e.type)).toEqual(["sender.offline"]);
      expect(offline[0]!.owner_user_id).toBeNull();
      // The sender as GET /senders/:id shows it (all but the day's usage).
      expect(offline[0]!.payload).toMatchObject({
        id: a.id,
        accountId,
        shared: true,
        deviceId: dark,
        simNumber: a.simNumber,
        phoneNumber: a.phoneNumber,
        carrier: a.carrier,
        status: "offline",
        pausedReason: null,
        limits: { ratePerMinute: null, dailyCap: null, monthlyUniqueCap: null },
        createdAt: a.createdAt.toISOString(),
      });
      expect(Date.parse(String(offline[0]!.payload.lastSeenAt))).toBeLessThan(Date.now() - 2_000);
      // A flap is not a pause: automatic pause's window (status_changed_at) stays where it was.
      expect((await senderRow(a.id)).statusChangedAt).toBeNull();

      await setDevice(dark!, "online");
      await waitFor(async () => (await senderRow(a.id)).status === "active", { timeoutMs: 20_000, message: "the phone's sender active again" });
      expect((await eventsOf(a.id)).map((e) => e.type)).toEqual(["sender.offline", "sender.online"]);
      expect((await senderRow(a.id)).statusChangedAt).toBeNull();

      const stillPaused = await senderRow(b.id);
      expect(stillPaused).toMatchObject({ status: "paused", pausedReason: "maintenance" });
      expect(await eventsOf(b.id)).toEqual([]);
      // The gauge reads Postgres: one active, one paused.
      expect(await live.registry.getSingleMetric("inboxerr_senders")?.get()).toMatchObject({
        values: expect.arrayContaining([
          expect.objectContaining({ labels: { status: "active" }, value: 1 }),
          expect.objectContaining({ labels: { status: "paused" }, value: 1 }),
        ]),
      });
    } finally {
      await live.close();
    }
  }, 60_000);
});

describe("automatic pause", () => {
  /** A sender (seen now and for the next hour) with finished attempts, newest first as given. */
  async function senderWithAttempts(outcomes: readonly (string | "delivered")[]) {
    const user = await createTestUser(sender.db);
    const account = await addAccount(sender.db, {
      ownerUserId: user.id,
      name: `pause-${uniqueSuffix()}`,
      baseUrl: gateway.url,
      ...GATEWAY_CREDENTIALS,
    });
    const [s] = await addSenders(sender.db, account.id, [`pause-device-${uniqueSuffix()}`]);
    await sender.db.update(senders).set({ lastSeenAt: sql`now() + interval '1 hour'` }).where(eq(senders.id, s!.id));
    const msgs = await insertMessages(sender.db, user.id, outcomes.length, { status: "failed", senderId: s!.id });
    await sender.dbHandle.pool.query(
      `insert into message_attempts (message_id, sender_id, n, status, error, created_at, failed_at, delivered_at)
       select m, $2, 1, case when e = 'delivered' then 'delivered' else 'failed' end, nullif(e, 'delivered'),
         now() - make_interval(secs => i), case when e <> 'delivered' then now() end, case when e = 'delivered' then now() end
       from unnest($1::uuid[], $3::text[]) with ordinality as v(m, e, i)`,
      [msgs.map((m) => m.id), s!.id, outcomes],
    );
    return { senderId: s!.id, ownerUserId: user.id };
  }

  it("pauses a sender whose recent attempts keep failing before transmission, once, and not again after a resume", async () => {
    const LIMIT = "Failed: RESULT_ERROR_LIMIT_EXCEEDED";
    const failing = await senderWithAttempts([LIMIT, "delivered", LIMIT, LIMIT, "delivered", LIMIT, LIMIT, LIMIT, "delivered", "delivered"]);
    // Five failures, but not with the same reason: no pause.
    const mixed = await senderWithAttempts([LIMIT, LIMIT, LIMIT, LIMIT, "RESULT_ERROR_NO_SERVICE", "RESULT_ERROR_NO_SERVICE", "delivered"]);
    const before = (await metric("inboxerr_senders_auto_paused_total")) ?? 0;

    const pass = await sender.sender.runHealthOnce();
    expect(pass?.paused.map((p) => p.senderId)).toEqual([failing.senderId]);
    const paused = await senderRow(failing.senderId);
    expect(paused).toMatchObject({ status: "paused", pausedReason: "auto: RESULT_ERROR_LIMIT_EXCEEDED in 6 of the last 10 attempts" });
    const events = await eventsOf(failing.senderId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "sender.paused", owner_user_id: failing.ownerUserId, payload: { status: "paused", pausedReason: paused.pausedReason } });
    expect(await metric("inboxerr_senders_auto_paused_total")).toBe(before + 1);
    expect((await senderRow(mixed.senderId)).status).toBe("active");

    // An admin resumes it (PATCH status active resets status_changed_at): the old failures no longer count.
    await sender.db.update(senders).set({ status: "active", pausedReason: null, statusChangedAt: sql`now()` }).where(eq(senders.id, failing.senderId));
    expect((await sender.sender.runHealthOnce())?.paused).toEqual([]);
    expect((await senderRow(failing.senderId)).status).toBe("active");
    expect(await eventsOf(failing.senderId)).toHaveLength(1);
  });
});

describe("failover", () => {
  it("cancels what a dark phone holds, hands confirmed cancels to the status writer, and resends nothing unconfirmed", async () => {
    const login = { username: `failover-${uniqueSuffix()}`, password: "failover-password" };
    const [device] = await gateway.addAccount(login);
    const user = await createTestUser(sender.db);
    const account = await addAccount(sender.db, { ownerUserId: user.id, name: login.username, baseUrl: gateway.url, ...login });
    const [s] = await addSenders(sender.db, account.id, [device!]);
    // Unseen for an hour; the phone holds what it is sent in Pending.
    await sender.db.update(senders).set({ lastSeenAt: sql`now() - interval '1 hour'` }).where(eq(senders.id, s!.id));
    await setDevice(device!, "offline");

    const msgs = await insertMessages(sender.db, user.id, 3, { status: "accepted", senderId: s!.id });
    const attemptIds = msgs.map(() => crypto.randomUUID());
    const direct = createSmsGateDriver({ baseUrl: gateway.url, ...login, timeoutMs: 10_000 });
    // The first two reached the phone's account; the third never did, so its cancel answers 404.
    for (const [i, id] of attemptIds.slice(0, 2).entries()) {
      expect((await direct.send({ id, to: msgs[i]!.to, text: "held", deviceId: device! })).kind).toBe("accepted");
    }
    await sender.dbHandle.pool.query(
      `insert into message_attempts (id, message_id, sender_id, n, status, accepted_at)
       select a, m, $3, 1, 'accepted', now() - interval '10 minutes' from unnest($1::uuid[], $2::uuid[]) as v(a, m)`,
      [attemptIds, msgs.map((m) => m.id), s!.id],
    );
    writer.calls.length = 0;

    const pass = await sender.sender.runHealthOnce();
    expect(pass?.failover).toMatchObject({ asked: 3, confirmed: 2, notConfirmed: 1, unknown: 0 });
    expect(writer.calls.flat().sort()).toEqual(attemptIds.slice(0, 2).sort());
    // The writer ended them cancelled and asked for new attempts, each with its own job; the
    // messages stay where they were.
    const { rows: ended } = await sender.dbHandle.pool.query<{ id: string; status: string; cancelled_at: Date | null }>(
      "select id, status, cancelled_at from message_attempts where id = any($1::uuid[])",
      [attemptIds.slice(0, 2)],
    );
    expect(ended.every((a) => a.status === "cancelled" && a.cancelled_at)).toBe(true);
    expect((await messageRow(sender.db, msgs[0]!.id)).status).toBe("accepted");
    expect(pass?.failover.reattempts).toBe(2);
    for (const m of msgs.slice(0, 2)) expect(await sender.sender.sendQueue.getJob(sendJobId(m.id, 2))).toBeTruthy();
    expect(await metric("inboxerr_failover_cancels_total", { outcome: "confirmed" })).toBe(2);
    expect(await metric("inboxerr_failover_cancels_total", { outcome: "not_confirmed" })).toBe(1);
    // The gateway has them Cancelled: the phone will never send them.
    const held = await direct.cancel(attemptIds[0]!);
    expect(held).toMatchObject({ kind: "not_cancelled", status: 409 });

    // Unconfirmed: the message says why it waits, and no new attempt's job exists.
    const unconfirmed = await messageRow(sender.db, msgs[2]!.id);
    expect(unconfirmed.waitingReason).toBe("failover_unconfirmed");
    expect(await sender.sender.sendQueue.getJob(sendJobId(msgs[2]!.id, 2))).toBeUndefined();
    expect((await messageRow(sender.db, msgs[0]!.id)).waitingReason).toBeNull();
    const { rows } = await sender.dbHandle.pool.query<{ n: number }>(
      "select count(*)::int as n from message_attempts where id = any($1::uuid[]) and cancel_requested_at is not null",
      [attemptIds],
    );
    expect(rows[0]!.n).toBe(3);

    // Asked moments ago: the next pass waits SENDER_OFFLINE_AFTER_SECONDS (60 s here) before asking again.
    expect((await sender.sender.runHealthOnce())?.failover.asked).toBe(0);
  });
});
