import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import express from "express";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { asc, eq } from "drizzle-orm";
import { enqueueSends, sendJobId } from "@inboxerr/contracts";
import { createDb, ensureDefaultAccount, messageAttempts, senders, type DbHandle } from "@inboxerr/db";
import { createSmsGateDriver } from "@inboxerr/gateway";
import { createPrivateDatabase, createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { addAccount, addSenders, TEST_SECRETS_KEY } from "../testing/fleet";
import { GATEWAY_CREDENTIALS, startGateway, startSender, testPrefix, type TestSender } from "../testing/harness";
import { messageRow } from "../testing/messages";

// Routing and attempts (ADR 0019) over real HTTP, Postgres and Redis. A database of this file's
// own: shared senders (owner NULL) route every user's messages, so other files' fleets must not
// be seen here, nor this file's there. Each test's fleet is owned by its own user besides.

let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let handle: DbHandle;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender | undefined;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await createPrivateDatabase();
  handle = createDb(database.url, { max: 4 });
  gateway = await startGateway({ devices: 3 });
});
afterEach(async () => {
  await sender?.close();
  sender = undefined;
  for (const close of closers.splice(0)) await close();
});
afterAll(async () => {
  await gateway.close();
  await handle.close();
  await database.drop();
});

const db = () => handle.db;

const start = (env: Record<string, string> = {}) =>
  startSender({
    gatewayUrl: gateway.url,
    prefix: testPrefix(),
    databaseUrl: database.url,
    env: { SECRETS_KEY: TEST_SECRETS_KEY, ...env },
    // Short, so a pause or resume is seen at once and a waiting job looks again soon.
    tuning: { senderCacheMs: 50, maxWaitMs: 300, maxCapWaitMs: 300, budgetSettleMs: 50 },
  });

/** The user's account on the simulator's primary account, with one sender per phone. */
async function ownFleet(userId: string, opts: { status?: "active" | "paused" } = {}) {
  const account = await addAccount(db(), { ownerUserId: userId, name: `own-${randomUUID()}`, baseUrl: gateway.url, ...GATEWAY_CREDENTIALS });
  const fleet = await addSenders(db(), account.id, gateway.deviceIds(), opts.status ? { status: opts.status } : {});
  return { account, senders: fleet };
}

const attemptsOf = (messageId: string) =>
  db().select().from(messageAttempts).where(eq(messageAttempts.messageId, messageId)).orderBy(asc(messageAttempts.n));

/** A gateway on an ephemeral port answering each send with `answer(n)` for the n-th request (1-based). */
async function startScriptedGateway(answer: (n: number) => { status: number; body: unknown; headers?: Record<string, string> }) {
  const ids: string[] = [];
  const app = express();
  app.post("/3rdparty/v1/messages", express.json(), (req, res) => {
    ids.push(String((req.body as { id?: unknown }).id));
    const a = answer(ids.length);
    res.status(a.status).set(a.headers ?? {}).json(a.body);
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/3rdparty/v1`, ids };
}

describe("routing (ADR 0019)", () => {
  it("spreads a user's messages over their senders, one attempt each, under fresh gateway ids", async () => {
    sender = await start();
    const user = await createTestUser(db());
    const fleet = await ownFleet(user.id);
    const rows = await insertMessages(db(), user.id, 30);

    await enqueueSends(sender.sender.sendQueue, rows);
    await waitFor(async () => (await Promise.all(rows.map((r) => messageRow(db(), r.id)))).every((m) => m.status === "accepted"), {
      timeoutMs: 20_000,
      message: "30 accepted",
    });

    const attempts = (await Promise.all(rows.map((r) => attemptsOf(r.id)))).flat();
    expect(attempts).toHaveLength(30);
    expect(attempts.every((a) => a.n === 1 && a.status === "accepted" && a.acceptedAt)).toBe(true);
    // The gateway saw the attempt ids, each once; never the message ids.
    const stats = gateway.statsOf();
    expect(attempts.every((a) => stats.sendsById[a.id] === 1 && a.id !== a.messageId)).toBe(true);
    const bySender = new Map<string, number>();
    for (const a of attempts) bySender.set(a.senderId!, (bySender.get(a.senderId!) ?? 0) + 1);
    expect([...bySender.keys()].sort()).toEqual(fleet.senders.map((s) => s.id).sort());
    // Each message names its attempt's sender, and each phone sent what its sender was given.
    for (const r of rows) {
      const [a] = await attemptsOf(r.id);
      expect((await messageRow(db(), r.id)).senderId).toBe(a!.senderId);
    }
    for (const s of fleet.senders) expect(stats.devices[s.deviceId]!.sends).toBeGreaterThanOrEqual(bySender.get(s.id)!);
  });

  it("keeps a number on the sender its last message went through (sticky)", async () => {
    sender = await start();
    const user = await createTestUser(db());
    await ownFleet(user.id);
    const firsts = await insertMessages(db(), user.id, 6); // six numbers, spread over the senders
    await enqueueSends(sender.sender.sendQueue, firsts);
    await waitFor(async () => (await Promise.all(firsts.map((r) => messageRow(db(), r.id)))).every((m) => m.status === "accepted"));
    // Again to the same six numbers, in a later batch.
    const seconds = await insertMessages(db(), user.id, 6);
    await enqueueSends(sender.sender.sendQueue, seconds);
    await waitFor(async () => (await Promise.all(seconds.map((r) => messageRow(db(), r.id)))).every((m) => m.status === "accepted"));

    for (const [i, m] of seconds.entries()) {
      expect(m.to).toBe(firsts[i]!.to);
      expect((await messageRow(db(), m.id)).senderId).toBe((await messageRow(db(), firsts[i]!.id)).senderId);
    }
    expect(new Set(await Promise.all(firsts.map(async (r) => (await messageRow(db(), r.id)).senderId))).size).toBeGreaterThan(1);
  });

  it("holds a message pinned to a paused sender (waiting, no attempt) and sends it once the sender is resumed", async () => {
    sender = await start();
    const user = await createTestUser(db());
    const fleet = await ownFleet(user.id, { status: "paused" });
    const pinned = fleet.senders[1]!;
    const [m] = await insertMessages(db(), user.id, 1, { pinnedSenderId: pinned.id });

    await enqueueSends(sender.sender.sendQueue, [m!]);
    await waitFor(async () => (await messageRow(db(), m!.id)).waitingReason === "paused", { message: "waiting: paused" });
    // Let it wake and wait again a few times (maxCapWaitMs 300): still nothing spent.
    await waitFor(async () => ((await sender!.sender.sendQueue.getJob(m!.id))?.attemptsStarted ?? 0) >= 3, { message: "job looked again" });
    expect(await messageRow(db(), m!.id)).toMatchObject({ status: "queued", attempts: 0, senderId: null, waitingReason: "paused" });
    expect(await attemptsOf(m!.id)).toHaveLength(0);
    expect(await sender.sender.sendQueue.getJobState(m!.id)).toMatch(/delayed|active|waiting/);

    await db().update(senders).set({ status: "active" }).where(eq(senders.id, pinned.id));
    await waitFor(async () => (await messageRow(db(), m!.id)).status === "accepted", { message: "accepted once resumed" });

    expect(await messageRow(db(), m!.id)).toMatchObject({ senderId: pinned.id, waitingReason: null, attempts: 1 });
    const [attempt, ...more] = await attemptsOf(m!.id);
    expect(more).toHaveLength(0);
    expect(attempt).toMatchObject({ senderId: pinned.id, n: 1, status: "accepted" });
    expect(gateway.statsOf().devices[pinned.deviceId]!.sends).toBeGreaterThanOrEqual(1);
    expect(gateway.statsOf().sendsById[attempt!.id]).toBe(1);
  });

  it("holds a message over its sender's daily cap (waiting, nothing spent) until the next UTC day", async () => {
    let offset = 0;
    sender = await startSender({
      gatewayUrl: gateway.url,
      prefix: testPrefix(),
      databaseUrl: database.url,
      env: { SECRETS_KEY: TEST_SECRETS_KEY },
      tuning: { senderCacheMs: 50, maxWaitMs: 300, maxCapWaitMs: 300, budgetSettleMs: 50, budgetClock: () => Date.now() + offset },
    });
    const user = await createTestUser(db());
    const account = await addAccount(db(), { ownerUserId: user.id, name: "capped", baseUrl: gateway.url, ...GATEWAY_CREDENTIALS });
    const [s] = await addSenders(db(), account.id, [gateway.deviceIds()[0]!], { dailyCap: 1 });
    const [first, second] = await insertMessages(db(), user.id, 2);

    await enqueueSends(sender.sender.sendQueue, [first!]);
    await waitFor(async () => (await messageRow(db(), first!.id)).status === "accepted");
    await enqueueSends(sender.sender.sendQueue, [second!]);
    await waitFor(async () => (await messageRow(db(), second!.id)).waitingReason === "daily_cap", { message: "waiting: daily_cap" });
    expect(await messageRow(db(), second!.id)).toMatchObject({ status: "queued", attempts: 0 });
    expect(await attemptsOf(second!.id)).toHaveLength(0);

    const now = new Date();
    offset = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 0, 1) - Date.now();
    await waitFor(async () => (await messageRow(db(), second!.id)).status === "accepted", { message: "accepted the next day" });
    expect(await attemptsOf(second!.id)).toMatchObject([{ senderId: s!.id, n: 1, status: "accepted" }]);
  });

  it("sleeps a capped message's job up to maxCapWaitMs, a rate-limited one's up to maxWaitMs only", async () => {
    sender = await startSender({
      gatewayUrl: gateway.url,
      prefix: testPrefix(),
      databaseUrl: database.url,
      env: { SECRETS_KEY: TEST_SECRETS_KEY },
      tuning: { senderCacheMs: 50, maxWaitMs: 300, maxCapWaitMs: 60_000, budgetSettleMs: 50 },
    });
    const queue = sender.sender.sendQueue;
    const user = await createTestUser(db());
    const account = await addAccount(db(), { ownerUserId: user.id, name: "slow-and-capped", baseUrl: gateway.url, ...GATEWAY_CREDENTIALS });
    const [capped, slow] = gateway.deviceIds();
    const [full] = await addSenders(db(), account.id, [capped!], { dailyCap: 0 });
    const [rated] = await addSenders(db(), account.id, [slow!], { ratePerMinute: 1 });
    const [overCap] = await insertMessages(db(), user.id, 1, { pinnedSenderId: full!.id });
    const [first, second] = await insertMessages(db(), user.id, 2, { pinnedSenderId: rated!.id });

    await enqueueSends(queue, [overCap!, first!]);
    await waitFor(async () => (await messageRow(db(), first!.id)).status === "accepted");
    await enqueueSends(queue, [second!]);
    // Each job's sleep, once delayed after its wait was written (the job hash keeps the delay).
    const sleep = async (id: string, reason: string) => {
      let delay = -1;
      await waitFor(
        async () => {
          const job = await queue.getJob(id);
          if ((await messageRow(db(), id)).waitingReason !== reason || (await queue.getJobState(id)) !== "delayed") return false;
          delay = job?.delay ?? -1;
          return delay > 0;
        },
        { message: `delayed: ${reason}` },
      );
      return delay;
    };
    // daily_cap: retryAt is hours away; the job sleeps the long bound, not the 300 ms one.
    expect(await sleep(overCap!.id, "daily_cap")).toBeGreaterThan(30_000);
    // rate_limited: its slot is a minute away; it still looks again within maxWaitMs (+ jitter).
    expect(await sleep(second!.id, "rate_limited")).toBeLessThanOrEqual(300 + 250);
  });

  it("retries a crashed send with the same attempt id, through the same sender: the gateway answers 409 and sends once", async () => {
    sender = await start();
    const user = await createTestUser(db());
    const fleet = await ownFleet(user.id);
    const s = fleet.senders[2]!;
    // The earlier worker opened attempt 1 on sender s, POSTed it, and died before recording the answer.
    const [m] = await insertMessages(db(), user.id, 1, { status: "sending", sendingAt: new Date(), attempts: 1, senderId: s.id });
    const attemptId = randomUUID();
    await db().insert(messageAttempts).values({ id: attemptId, messageId: m!.id, senderId: s.id, n: 1, status: "sending" });
    const direct = createSmsGateDriver({ baseUrl: gateway.url, ...GATEWAY_CREDENTIALS, timeoutMs: 10_000 });
    expect(await direct.send({ id: attemptId, to: m!.to, text: m!.text, deviceId: s.deviceId })).toMatchObject({ kind: "accepted", duplicate: false });

    await enqueueSends(sender.sender.sendQueue, [m!]);
    await waitFor(async () => (await messageRow(db(), m!.id)).status === "accepted");

    const attempts = await attemptsOf(m!.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ id: attemptId, senderId: s.id, status: "accepted" });
    const stats = gateway.statsOf();
    expect(stats.sendsById[attemptId]).toBe(2); // one 202 + one 409, on the same phone: sent once
    expect(stats.devices[s.deviceId]!.sends).toBeGreaterThanOrEqual(2);
  });

  it("answers a gateway's 4xx refusal with a new attempt under a new id, which goes through", async () => {
    const flaky = await startScriptedGateway((n) =>
      n === 1 ? { status: 400, body: { message: "device busy, refused" } } : { status: 202, body: { state: "Pending" } },
    );
    sender = await start();
    const user = await createTestUser(db());
    const account = await addAccount(db(), { ownerUserId: user.id, name: "flaky", baseUrl: flaky.url, username: "u", password: "p" });
    const [s] = await addSenders(db(), account.id, ["flaky-phone"]);
    const [m] = await insertMessages(db(), user.id, 1);

    await enqueueSends(sender.sender.sendQueue, [m!]);
    await waitFor(async () => (await messageRow(db(), m!.id)).status === "accepted", { message: "accepted on attempt 2" });

    const attempts = await attemptsOf(m!.id);
    expect(attempts.map((a) => [a.n, a.status, a.senderId])).toEqual([
      [1, "failed", s!.id],
      [2, "accepted", s!.id],
    ]);
    expect(attempts[0]!.error).toMatch(/device busy, refused/);
    expect(flaky.ids).toEqual([attempts[0]!.id, attempts[1]!.id]);
    expect(new Set([m!.id, attempts[0]!.id, attempts[1]!.id]).size).toBe(3);
    // Attempt 2 had its own job; the message moved sending → accepted once, as in part 1.
    expect(await sender.sender.sendQueue.getJob(sendJobId(m!.id, 2))).toBeTruthy();
    expect(await messageRow(db(), m!.id)).toMatchObject({ status: "accepted", error: null });
  });

  it("fails the message after SEND_MAX_ATTEMPTS refused attempts, each under its own id", async () => {
    sender = await start({ SEND_MAX_ATTEMPTS: "3" });
    const user = await createTestUser(db());
    await ownFleet(user.id);
    const [bad] = await insertMessages(db(), user.id, 1, { to: "+1" }); // the gateway refuses the number

    await enqueueSends(sender.sender.sendQueue, [bad!]);
    const row = await waitFor(async () => {
      const r = await messageRow(db(), bad!.id);
      return r.status === "failed" && r;
    });

    expect(row.error).toMatch(/invalid phone number/);
    const attempts = await attemptsOf(bad!.id);
    expect(attempts.map((a) => a.n)).toEqual([1, 2, 3]);
    expect(attempts.every((a) => a.status === "failed" && /invalid phone number/.test(a.error ?? ""))).toBe(true);
    expect(new Set(attempts.map((a) => a.id)).size).toBe(3);
  });

  it("keeps sending through one account while another answers 429", async () => {
    const busy = await startScriptedGateway(() => ({ status: 429, body: { message: "too many requests" }, headers: { "retry-after": "30" } }));
    sender = await start();
    const user = await createTestUser(db());
    const throttled = await addAccount(db(), { ownerUserId: user.id, name: "busy", baseUrl: busy.url, username: "u", password: "p" });
    const [b] = await addSenders(db(), throttled.id, ["busy-phone"]);
    const fine = await addAccount(db(), { ownerUserId: user.id, name: "fine", baseUrl: gateway.url, ...GATEWAY_CREDENTIALS });
    const [f] = await addSenders(db(), fine.id, [gateway.deviceIds()[0]!]);

    // A message pinned to the busy account's sender meets its 429 first: that account is throttled for 30 s.
    const [pinned] = await insertMessages(db(), user.id, 1, { pinnedSenderId: b!.id, to: "+15550009999" });
    await enqueueSends(sender.sender.sendQueue, [pinned!]);
    await waitFor(() => busy.ids.length === 1, { message: "the busy account answered 429" });
    const rows = await insertMessages(db(), user.id, 20);
    await enqueueSends(sender.sender.sendQueue, rows);
    await waitFor(async () => (await Promise.all(rows.map((r) => messageRow(db(), r.id)))).every((m) => m.status === "accepted"), {
      timeoutMs: 20_000,
      message: "20 accepted through the other account",
    });

    for (const r of rows) {
      expect((await attemptsOf(r.id)).map((a) => [a.n, a.status, a.senderId])).toEqual([[1, "accepted", f!.id]]);
    }
    // The throttled account was not called again; its pinned message waits, its refused attempt taken back.
    expect(busy.ids).toHaveLength(1);
    await waitFor(async () => (await messageRow(db(), pinned!.id)).waitingReason === "rate_limited", { message: "pinned waits: rate_limited" });
    expect(await messageRow(db(), pinned!.id)).toMatchObject({ status: "sending", attempts: 0 });
    expect(await attemptsOf(pinned!.id)).toHaveLength(0);
  });

  it("sends through the env's default account: implicitly before it has senders, through its sender after", async () => {
    // Runs last in this file: the shared sender it makes routes every user without senders.
    sender = await start();
    const user = await createTestUser(db());
    const [before] = await insertMessages(db(), user.id, 1);
    await enqueueSends(sender.sender.sendQueue, [before!]);
    await waitFor(async () => (await messageRow(db(), before!.id)).status === "accepted");
    // No default sender row yet (part 1, a fresh install): the env's gateway under the message id.
    expect(await attemptsOf(before!.id)).toMatchObject([{ id: before!.id, senderId: null, n: 1, status: "accepted" }]);

    const device = gateway.deviceIds()[1]!;
    const { senderId } = await ensureDefaultAccount(db(), { ...sender.config, SMSGATE_DEVICE_ID: device });
    // Routing reads senders through a cache (senderCacheMs): wait until it sees the new one.
    await waitFor(async () => (await sender!.sender.fleetSnapshot()).defaultHasSenders, { message: "routing sees the default account's sender" });
    const [after] = await insertMessages(db(), user.id, 1, { to: "+15550001234" });
    await enqueueSends(sender.sender.sendQueue, [after!]);
    await waitFor(async () => (await messageRow(db(), after!.id)).status === "accepted");
    const [attempt] = await attemptsOf(after!.id);
    expect(attempt).toMatchObject({ senderId, n: 1, status: "accepted" });
    expect(gateway.statsOf().sendsById[attempt!.id]).toBe(1);
    expect((await messageRow(db(), after!.id)).senderId).toBe(senderId);
  });
});
