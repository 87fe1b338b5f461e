import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sendJobId } from "@inboxerr/contracts";
import { senders } from "@inboxerr/db";
import { createSmsGateDriver } from "@inboxerr/gateway";
import { createPrivateDatabase, createTestUser, insertMessages, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { addAccount, addSenders, GATEWAY_CREDENTIALS, startGateway, startSender, TEST_SECRETS_KEY, testPrefix, type TestSender } from "../testing/harness";
import { messageRow } from "../testing/messages";
import type * as ConfirmedCancels from "./confirmed-cancels";

// The status writer's side, watched and played for real (as in health.test.ts).
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

// A database of its own: each pass acts on every candidate there, so the counts below are exact.
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender;
const ENV = { SENDER_OFFLINE_AFTER_SECONDS: "60", FAILOVER_AFTER_SECONDS: "60", SECRETS_KEY: TEST_SECRETS_KEY };

beforeAll(async () => {
  [database, gateway] = await Promise.all([createPrivateDatabase(), startGateway({ devices: 1 })]);
  sender = await startSender({ gatewayUrl: gateway.url, prefix: testPrefix(), databaseUrl: database.url, autostart: false, env: ENV, tuning: { senderCacheMs: 0 } });
});
afterAll(async () => {
  await sender?.close();
  await gateway?.close();
  await database?.drop();
});

/**
 * A gateway account whose DELETE/GET /messages/:id answer `status`, or hang until release()
 * when `status` is "hang" (then the calls fail as network errors: unknown).
 */
async function startStub(status: number | "hang") {
  const calls: string[] = [];
  const hung = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    if (status === "hang") return void hung.add(res);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ message: `stub ${status}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/3rdparty/v1`,
    deletes: () => calls.filter((c) => c.startsWith("DELETE")).length,
    hung: () => hung.size,
    release: () => hung.forEach((res) => res.destroy()),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An account at `baseUrl` with one sender on `deviceId`, unseen for an hour unless `seen`. */
async function accountWithSender(baseUrl: string, login = GATEWAY_CREDENTIALS, deviceId = `device-${uniqueSuffix()}`, seen = false) {
  const user = await createTestUser(sender.db);
  const account = await addAccount(sender.db, { ownerUserId: user.id, name: `failover-${uniqueSuffix()}`, baseUrl, ...login });
  const [s] = await addSenders(sender.db, account.id, [deviceId]);
  await sender.db.update(senders).set({ lastSeenAt: sql`now() ${seen ? sql`+` : sql`-`} interval '1 hour'` }).where(eq(senders.id, s!.id));
  return { userId: user.id, senderId: s!.id };
}

/** `count` accepted attempts 10 minutes old on the sender; ids chosen when given (the gateway holds them). */
async function acceptedAttempts(owner: { userId: string; senderId: string }, count: number, opts: { ids?: string[]; cancelRequestedAgo?: string } = {}) {
  const msgs = await insertMessages(sender.db, owner.userId, count, { status: "accepted", senderId: owner.senderId });
  const ids = opts.ids ?? msgs.map(() => crypto.randomUUID());
  await sender.dbHandle.pool.query(
    `insert into message_attempts (id, message_id, sender_id, n, status, accepted_at, cancel_requested_at)
     select a, m, $3, 1, 'accepted', now() - interval '10 minutes', now() - $4::interval from unnest($1::uuid[], $2::uuid[]) as v(a, m)`,
    [ids, msgs.map((m) => m.id), owner.senderId, opts.cancelRequestedAgo ?? null],
  );
  return { msgs, ids };
}

const waitingReasons = async (messageIds: string[]) =>
  (await sender.dbHandle.pool.query<{ waiting_reason: string | null }>("select waiting_reason from messages where id = any($1::uuid[])", [messageIds])).rows.map(
    (r) => r.waiting_reason,
  );

describe("failover, asked again", () => {
  it("confirms a cancel whose answer was lost, from the gateway's state, even once the phone is seen again", async () => {
    const login = { username: `lost-${uniqueSuffix()}`, password: "lost-answer-password" };
    const [device] = await gateway.addAccount(login);
    const owner = await accountWithSender(gateway.url, login, device!, true);
    const held = await fetch(`${gateway.url.replace(/\/3rdparty\/v1$/, "")}/simulator/devices/${device!}/offline`, { method: "POST" });
    expect(held.status).toBe(204);
    const direct = createSmsGateDriver({ baseUrl: gateway.url, ...login, timeoutMs: 10_000 });
    const [lostId, untouchedId] = [crypto.randomUUID(), crypto.randomUUID()];
    for (const id of [lostId!, untouchedId!]) expect((await direct.send({ id, to: "+14155550100", text: "held", deviceId: device! })).kind).toBe("accepted");
    // An earlier pass asked (two minutes ago) and the gateway cancelled it, but the answer never
    // came back: the message waits as failover_unconfirmed, and a new DELETE answers 409.
    expect((await direct.cancel(lostId!)).kind).toBe("cancelled");
    const lost = await acceptedAttempts(owner, 1, { ids: [lostId!], cancelRequestedAgo: "2 minutes" });
    await sender.dbHandle.pool.query("update messages set waiting_reason = 'failover_unconfirmed' where id = $1", [lost.msgs[0]!.id]);
    // Never asked about, on a sender seen now: not a candidate.
    const untouched = await acceptedAttempts(owner, 1, { ids: [untouchedId!] });
    writer.calls.length = 0;

    const pass = await sender.sender.runHealthOnce();
    expect(pass?.failover).toMatchObject({ asked: 1, confirmed: 1, notConfirmed: 0, unknown: 0, reattempts: 1 });
    expect(writer.calls).toEqual([[lostId]]);
    expect(await sender.sender.sendQueue.getJob(sendJobId(lost.msgs[0]!.id, 2))).toBeTruthy();
    const { rows } = await sender.dbHandle.pool.query<{ id: string; status: string }>("select id, status from message_attempts where id = any($1::uuid[])", [
      [lostId, untouchedId],
    ]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({ [lostId!]: "cancelled", [untouchedId!]: "accepted" });
    expect((await messageRow(sender.db, untouched.msgs[0]!.id)).waitingReason).toBeNull();
  });
});

describe("failover, bounded", () => {
  it("stops calling a gateway after 3 unknown answers in a row: the rest wait as failover_unconfirmed without a call", async () => {
    const stub = await startStub(503);
    try {
      const { msgs } = await acceptedAttempts(await accountWithSender(stub.url), 20);
      const pass = await sender.sender.runHealthOnce();
      // Eight lanes start together; after the first and second unknown a lane may still take
      // another candidate, none once three came back unknown in a row.
      expect(stub.deletes()).toBeLessThanOrEqual(8 + 2);
      expect(pass?.failover).toMatchObject({ asked: 20, confirmed: 0, notConfirmed: 0, unknown: 20, unasked: 20 - stub.deletes() });
      expect(new Set(await waitingReasons(msgs.map((m) => m.id)))).toEqual(new Set(["failover_unconfirmed"]));
    } finally {
      await stub.close();
    }
  });

  it("applies one account's confirmed cancels while another's gateway hangs, and stops asking at shutdown", async () => {
    const stub = await startStub("hang");
    try {
      const login = { username: `fast-${uniqueSuffix()}`, password: "fast-account-password" };
      const [device] = await gateway.addAccount(login);
      const fast = await accountWithSender(gateway.url, login, device!);
      const direct = createSmsGateDriver({ baseUrl: gateway.url, ...login, timeoutMs: 10_000 });
      const fastId = crypto.randomUUID();
      await fetch(`${gateway.url.replace(/\/3rdparty\/v1$/, "")}/simulator/devices/${device!}/offline`, { method: "POST" });
      expect((await direct.send({ id: fastId, to: "+14155550101", text: "held", deviceId: device! })).kind).toBe("accepted");
      const confirmed = await acceptedAttempts(fast, 1, { ids: [fastId] });
      const slow = await acceptedAttempts(await accountWithSender(stub.url), 20);
      writer.calls.length = 0;

      const stopping = new AbortController();
      let done = false;
      const pass = sender.sender.runHealthOnce(stopping.signal).finally(() => (done = true));
      // The writer played the fast account's cancel and its new attempt's job is there, while 8 cancels hang.
      await waitFor(async () => stub.hung() === 8 && (await sender.sender.sendQueue.getJob(sendJobId(confirmed.msgs[0]!.id, 2))), {
        message: "the fast account's new attempt queued",
      });
      expect(writer.calls).toEqual([[fastId]]);
      expect(done).toBe(false);

      stopping.abort();
      stub.release();
      const summary = (await pass)?.failover;
      expect(summary).toMatchObject({ asked: 21, confirmed: 1, unknown: 20, unasked: 12 });
      expect(stub.deletes()).toBe(8);
      expect(new Set(await waitingReasons(slow.msgs.map((m) => m.id)))).toEqual(new Set(["failover_unconfirmed"]));
    } finally {
      await stub.close();
    }
  });
});
