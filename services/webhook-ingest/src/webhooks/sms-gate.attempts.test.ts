import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendJobId, toQueuePriority } from "@inboxerr/contracts";
import { messageAttempts, type AttemptStatus } from "@inboxerr/db";
import { createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { envelope, eventsOf, messageRow, postSigned, startIngest, type Harness } from "../testing/harness";

// Reports name attempts (ADR 0019): over real HTTP, Postgres and Redis.

let h: Harness;
let userId: string;

beforeAll(async () => {
  h = await startIngest();
  userId = (await createTestUser(h.database.db)).id;
});
afterAll(() => h.close());

/** An accepted message with attempts 1..n in these statuses. */
async function withAttempts(statuses: AttemptStatus[]) {
  const [message] = await insertMessages(h.database.db, userId, 1, { status: "accepted", acceptedAt: new Date(), priority: 7 });
  const attempts = await h.database.db
    .insert(messageAttempts)
    .values(statuses.map((status, i) => ({ messageId: message!.id, n: i + 1, status })))
    .returning();
  return { message: message!, attempts: attempts.sort((a, b) => a.n - b.n) };
}

const attemptsOf = (messageId: string) =>
  h.database.db.select().from(messageAttempts).where(eq(messageAttempts.messageId, messageId)).orderBy(asc(messageAttempts.n));

const metric = async (name: string) => (await h.ingest.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;

describe("POST /webhooks/sms-gate: reports on attempts", () => {
  it("a report on attempt 2's id moves the message and that attempt", async () => {
    const { message, attempts } = await withAttempts(["failed", "accepted"]);
    const res = await postSigned(h.url, envelope("sms:delivered", { messageId: attempts[1]!.id, deliveredAt: "2030-01-01T10:00:00Z" }));
    expect(await res.json()).toEqual({ status: "applied" });
    expect(await messageRow(h, message.id)).toMatchObject({ status: "delivered", deliveredAt: new Date("2030-01-01T10:00:00Z") });
    expect((await attemptsOf(message.id)).map((a) => a.status)).toEqual(["failed", "delivered"]);
    expect((await eventsOf(h, message.id)).map((e) => e.status)).toEqual(["delivered"]);
  });

  it("a late report on attempt 1, no longer the latest, updates attempt 1 only", async () => {
    const { message, attempts } = await withAttempts(["cancelled", "accepted"]);
    const res = await postSigned(h.url, envelope("sms:sent", { messageId: attempts[0]!.id, sentAt: "2030-01-01T10:00:00Z" }));
    expect(await res.json()).toEqual({ status: "applied" });
    const [one, two] = await attemptsOf(message.id);
    expect(one).toMatchObject({ status: "cancelled", sentAt: new Date("2030-01-01T10:00:00Z") });
    expect(two).toMatchObject({ status: "accepted", sentAt: null });
    expect(await messageRow(h, message.id)).toMatchObject({ status: "accepted", sentAt: null });
    expect(await eventsOf(h, message.id)).toEqual([]);
  });

  it("RESULT_ERROR_LIMIT_EXCEEDED with attempts left fails the attempt, not the message, and adds the next attempt's sms-send job", async () => {
    const before = await metric("inboxerr_webhook_reattempts_enqueued_total");
    const { message, attempts } = await withAttempts(["accepted"]);
    const res = await postSigned(
      h.url,
      envelope("sms:failed", { messageId: attempts[0]!.id, failedAt: new Date().toISOString(), reason: "RESULT_ERROR_LIMIT_EXCEEDED" }),
    );
    expect(await res.json()).toEqual({ status: "applied" });
    expect(await messageRow(h, message.id)).toMatchObject({ status: "accepted", error: null, failedAt: null });
    expect(await attemptsOf(message.id)).toEqual([expect.objectContaining({ status: "failed", error: "RESULT_ERROR_LIMIT_EXCEEDED" })]);
    expect(await eventsOf(h, message.id)).toEqual([]);

    expect(sendJobId(message.id, 2)).toBe(`${message.id}-r2`);
    const job = await waitFor(() => h.sends.getJob(`${message.id}-r2`), { message: "the new attempt's sms-send job" });
    expect(job.data).toEqual({ messageId: message.id });
    expect(job.opts).toMatchObject({ priority: toQueuePriority(7), attempts: 8 });
    await waitFor(async () => (await metric("inboxerr_webhook_reattempts_enqueued_total")) === before + 1, { message: "re-attempt counted" });
  });

  it("with no attempts left the message fails with the reason, and no job is added", async () => {
    const { message, attempts } = await withAttempts(["failed", "failed", "accepted"]);
    await postSigned(h.url, envelope("sms:failed", { messageId: attempts[2]!.id, failedAt: new Date().toISOString(), reason: "RESULT_ERROR_NO_SERVICE" }));
    expect(await messageRow(h, message.id)).toMatchObject({ status: "failed", error: "RESULT_ERROR_NO_SERVICE" });
    expect((await attemptsOf(message.id))[2]).toMatchObject({ status: "failed", error: "RESULT_ERROR_NO_SERVICE" });
    expect(await h.sends.getJob(sendJobId(message.id, 4))).toBeUndefined();
    expect((await eventsOf(h, message.id)).map((e) => e.status)).toEqual(["failed"]);
  });

  it("a part-1 attempt (attempt id = message id) still resolves", async () => {
    const [message] = await insertMessages(h.database.db, userId, 1, { status: "accepted", acceptedAt: new Date() });
    await h.database.db.insert(messageAttempts).values({ id: message!.id, messageId: message!.id, n: 1, status: "accepted" });
    const res = await postSigned(h.url, envelope("sms:sent", { messageId: message!.id, sentAt: new Date().toISOString() }));
    expect(await res.json()).toEqual({ status: "applied" });
    expect((await messageRow(h, message!.id)).status).toBe("sent");
    expect((await attemptsOf(message!.id))[0]!.status).toBe("sent");
  });
});

describe("concurrent reports on attempts", () => {
  it("applies reports on the latest and earlier attempts of the same messages at once, without deadlocks or lost updates", async () => {
    const all = await Promise.all(Array.from({ length: 40 }, () => withAttempts(["cancelled", "accepted"])));
    const at = new Date().toISOString();
    const hooks = all.flatMap(({ attempts }) => [
      envelope("sms:sent", { messageId: attempts[1]!.id, sentAt: at }),
      envelope("sms:delivered", { messageId: attempts[1]!.id, deliveredAt: at }),
      envelope("sms:sent", { messageId: attempts[0]!.id, sentAt: at }),
    ]);
    // Shuffled, so batches mix messages and attempts in every order.
    hooks.sort(() => Math.random() - 0.5);
    const answers = await Promise.all(hooks.map((hook) => postSigned(h.url, hook)));
    expect(answers.map((a) => a.status)).toEqual(hooks.map(() => 200));
    for (const { message } of all) {
      expect((await messageRow(h, message.id)).status).toBe("delivered");
      const [one, two] = await attemptsOf(message.id);
      expect(one).toMatchObject({ status: "cancelled", sentAt: expect.any(Date) });
      expect(two).toMatchObject({ status: "delivered" });
      expect((await eventsOf(h, message.id)).map((e) => e.status).sort()).toEqual(expect.arrayContaining(["delivered"]));
    }
  });
});

describe("a new attempt's job when Redis is down", () => {
  it("still fails the attempt and answers the phone; the lost add is counted for the sweeper to redo", async () => {
    const down = await startIngest({ redisUrl: "redis://127.0.0.1:1" });
    try {
      const [message] = await insertMessages(down.database.db, userId, 1, { status: "accepted" });
      const [attempt] = await down.database.db.insert(messageAttempts).values({ messageId: message!.id, n: 1, status: "accepted" }).returning();
      const res = await postSigned(
        down.url,
        envelope("sms:failed", { messageId: attempt!.id, failedAt: new Date().toISOString(), reason: "RESULT_ERROR_RADIO_OFF" }),
      );
      expect(await res.json()).toEqual({ status: "applied" });
      expect((await messageRow(down, message!.id)).status).toBe("accepted");
      const failures = async () => (await down.ingest.registry.getSingleMetric("inboxerr_webhook_reattempt_enqueue_failures_total")?.get())?.values[0]?.value;
      await waitFor(async () => (await failures()) === 1, { message: "failed add counted" });
    } finally {
      await down.close();
    }
  });
});
