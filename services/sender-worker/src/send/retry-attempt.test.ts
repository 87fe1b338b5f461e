import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import express from "express";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { asc, eq } from "drizzle-orm";
import { enqueueSends, sendJobId } from "@inboxerr/contracts";
import { createDb, messageAttempts, type DbHandle } from "@inboxerr/db";
import { createPrivateDatabase, createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { startGateway, startSender, startStubGateway, testPrefix, type TestSender } from "../testing/harness";
import { age, messageRow } from "../testing/messages";
import { enqueueAttempts } from "./enqueue";

// A live attempt's retry (ADR 0019 "Attempts"): a later attempt on an `accepted` message is
// retried like a first one, never left behind; a retried call refused with 4xx fails the
// message instead of opening a new attempt. A database of this file's own, with no fleet:
// every attempt goes through the env's (implicit) gateway.

let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let handle: DbHandle;
let sender: TestSender | undefined;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await createPrivateDatabase();
  handle = createDb(database.url, { max: 4 });
});
afterEach(async () => {
  await sender?.close();
  sender = undefined;
  for (const close of closers.splice(0)) await close();
});
afterAll(async () => {
  await handle.close();
  await database.drop();
});

const db = () => handle.db;
const start = (gatewayUrl: string, autostart = true) => startSender({ gatewayUrl, prefix: testPrefix(), databaseUrl: database.url, autostart });
const attemptsOf = (messageId: string) =>
  db().select().from(messageAttempts).where(eq(messageAttempts.messageId, messageId)).orderBy(asc(messageAttempts.n));

/** A gateway answering the n-th send (1-based) with `answer(n)`; records the ids it was sent. */
async function startScriptedGateway(answer: (n: number) => { status: number; body: unknown }) {
  const ids: string[] = [];
  const app = express();
  app.post("/3rdparty/v1/messages", express.json(), (req, res) => {
    ids.push(String((req.body as { id?: unknown }).id));
    const a = answer(ids.length);
    res.status(a.status).json(a.body);
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/3rdparty/v1`, ids };
}

/** An `accepted` message whose attempt 1 then failed on the phone, before transmission (ingest's doing). */
async function acceptedThenFailedBeforeTransmission(userId: string) {
  const [m] = await insertMessages(db(), userId, 1, { status: "accepted", sendingAt: new Date(), attempts: 1 });
  await db().insert(messageAttempts).values({ id: m!.id, messageId: m!.id, n: 1, status: "failed", error: "RESULT_ERROR_NO_SERVICE" });
  return m!;
}

describe("retrying a live attempt", () => {
  it("resends an accepted message's later attempt after a transient error, under the same id, until accepted", async () => {
    const gateway = await startScriptedGateway((n) =>
      n === 1 ? { status: 500, body: { message: "gateway hiccup" } } : { status: 202, body: { state: "Pending" } },
    );
    sender = await start(gateway.url);
    const user = await createTestUser(db());
    const m = await acceptedThenFailedBeforeTransmission(user.id);

    await enqueueAttempts(sender.sender.sendQueue, [{ id: m.id, priority: m.priority, n: 2 }]);
    await waitFor(async () => (await attemptsOf(m.id)).some((a) => a.n === 2 && a.status === "accepted"), {
      message: "attempt 2 accepted after its transient error",
    });

    const attempts = await attemptsOf(m.id);
    expect(attempts.map((a) => [a.n, a.status])).toEqual([
      [1, "failed"],
      [2, "accepted"],
    ]);
    // The retry was the same attempt: same id, sent twice (the first call answered 500), no attempt 3.
    expect(gateway.ids).toEqual([attempts[1]!.id, attempts[1]!.id]);
    expect(attempts[1]!.id).not.toBe(m.id);
    // Both calls counted (calls that may have reached the gateway), the message still accepted.
    expect(await messageRow(db(), m.id)).toMatchObject({ status: "accepted", attempts: 3 });
  });

  it("gives an accepted message whose later attempt was left sending without a job that attempt's job again", async () => {
    const gateway = await startGateway();
    closers.push(() => gateway.close());
    sender = await start(gateway.url, false);
    const user = await createTestUser(db());
    const m = await acceptedThenFailedBeforeTransmission(user.id);
    // Attempt 2 was opened, then its worker died before (or while) calling; its job is gone.
    const attemptId = randomUUID();
    await db().insert(messageAttempts).values({ id: attemptId, messageId: m.id, n: 2, status: "sending" });
    await age(db(), [m.id], 600); // > SWEEPER_STALE_SECONDS (120)

    const report = await sender.sender.runSweeperOnce();
    expect(report?.reenqueued).toMatchObject({ sending: 1, reattempt: 0 });
    expect(await sender.sender.sendQueue.getJob(sendJobId(m.id, 2))).toBeTruthy();
    sender.sender.start({ periodic: false });
    await waitFor(async () => (await attemptsOf(m.id)).some((a) => a.n === 2 && a.status === "accepted"), {
      message: "attempt 2 resent and accepted",
    });

    const attempts = await attemptsOf(m.id);
    expect(attempts.map((a) => [a.id, a.n, a.status])).toEqual([
      [m.id, 1, "failed"],
      [attemptId, 2, "accepted"],
    ]);
    const stats = await gateway.stats();
    expect(stats.sendsById[attemptId]).toBe(1);
    expect(stats.sendsById[m.id] ?? 0).toBe(0);
    expect(await messageRow(db(), m.id)).toMatchObject({ status: "accepted" });
  });

  it("fails a message whose retried call the gateway refuses (4xx), opening no new attempt", async () => {
    const gateway = await startStubGateway(400, { message: "device busy, refused" });
    closers.push(() => gateway.close());
    sender = await start(gateway.url);
    const user = await createTestUser(db());
    // A routed attempt retried after a crash (its first call may have reached the gateway), and
    // a part-1 claim (sending, one call counted, no attempt row) retried the same way.
    const [routed, legacy] = await insertMessages(db(), user.id, 2, { status: "sending", sendingAt: new Date(), attempts: 1 });
    const attemptId = randomUUID();
    await db().insert(messageAttempts).values({ id: attemptId, messageId: routed!.id, n: 1, status: "sending" });

    await enqueueSends(sender.sender.sendQueue, [routed!, legacy!]);
    for (const m of [routed!, legacy!]) {
      await waitFor(async () => (await messageRow(db(), m.id)).status === "failed", { message: `${m.id} failed` });
    }

    expect((await attemptsOf(routed!.id)).map((a) => [a.id, a.n, a.status])).toEqual([[attemptId, 1, "failed"]]);
    expect((await attemptsOf(legacy!.id)).map((a) => [a.id, a.n, a.status])).toEqual([[legacy!.id, 1, "failed"]]);
    for (const m of [routed!, legacy!]) {
      expect((await messageRow(db(), m.id)).error).toMatch(/device busy, refused/);
      expect(await sender.sender.sendQueue.getJob(sendJobId(m.id, 2))).toBeUndefined();
    }
    expect(gateway.requests()).toBe(2);
  });

  it("catches a `sending` message up with its accepted attempt, sending nothing (the answer was recorded, the move was lost)", async () => {
    const gateway = await startScriptedGateway(() => ({ status: 202, body: { state: "Pending" } }));
    sender = await start(gateway.url);
    const user = await createTestUser(db());
    // Postgres went away between recording the gateway's answer on the attempt and moving the message.
    const [m] = await insertMessages(db(), user.id, 1, { status: "sending", sendingAt: new Date(), attempts: 1 });
    await db().insert(messageAttempts).values({ id: m!.id, messageId: m!.id, n: 1, status: "accepted", acceptedAt: new Date() });

    await enqueueSends(sender.sender.sendQueue, [m!]);
    await waitFor(async () => (await messageRow(db(), m!.id)).status === "accepted", { message: "message caught up with its attempt" });
    expect(gateway.ids).toEqual([]);
    expect((await attemptsOf(m!.id)).map((a) => [a.n, a.status])).toEqual([[1, "accepted"]]);
  });
});
