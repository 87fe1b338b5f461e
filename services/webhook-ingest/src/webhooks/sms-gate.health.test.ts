import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { asc, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendJobId, toQueuePriority } from "@inboxerr/contracts";
import { ensureDefaultAccount, gatewayAccounts, messageAttempts, sealSecret, senders, type AttemptStatus } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { envelope, eventsOf, messageRow, postSigned, SECRETS, startIngest, type Harness } from "../testing/harness";

// ADR 0022 over real HTTP, Postgres and Redis: sms:cancelled ends the attempt and adds the next
// one's job; system:ping marks the right account's senders seen.

let h: Harness;
let userId: string;
/** What the app logged at warn and above (pino: level 40 = warn). */
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  h = await startIngest({ logger: createLogger({ service: "webhook-ingest-test", level: "warn", destination }) });
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

const CANCELLED_AT = "2030-01-01T10:00:00+02:00";

describe("POST /webhooks/sms-gate: sms:cancelled", () => {
  it("ends the attempt cancelled, leaves the message, and adds the next attempt's job even with no attempts left", async () => {
    const { message, attempts } = await withAttempts(["failed", "failed", "accepted"]);
    const res = await postSigned(h.url, envelope("sms:cancelled", { messageId: attempts[2]!.id, cancelledAt: CANCELLED_AT }));
    expect(await res.json()).toEqual({ status: "applied" });
    expect((await attemptsOf(message.id))[2]).toMatchObject({ status: "cancelled", cancelledAt: new Date(CANCELLED_AT) });
    expect(await messageRow(h, message.id)).toMatchObject({ status: "accepted", failedAt: null });
    expect(await eventsOf(h, message.id)).toEqual([]);
    const job = await waitFor(() => h.sends.getJob(sendJobId(message.id, 4)), { message: "the new attempt's sms-send job" });
    expect(job.opts).toMatchObject({ priority: toQueuePriority(7) });
  });

  it("on an attempt already sent changes nothing", async () => {
    const { message, attempts } = await withAttempts(["sent"]);
    const res = await postSigned(h.url, envelope("sms:cancelled", { messageId: attempts[0]!.id, cancelledAt: CANCELLED_AT }));
    expect(await res.json()).toEqual({ status: "ignored" });
    expect((await attemptsOf(message.id))[0]).toMatchObject({ status: "sent", cancelledAt: null });
    expect(await h.sends.getJob(sendJobId(message.id, 2))).toBeUndefined();
  });

  it("a sent report after the cancel is recorded on the attempt only, and logged as a warning", async () => {
    const { message, attempts } = await withAttempts(["accepted"]);
    const id = attempts[0]!.id;
    await postSigned(h.url, envelope("sms:cancelled", { messageId: id, cancelledAt: CANCELLED_AT }));
    const res = await postSigned(h.url, envelope("sms:sent", { messageId: id, sentAt: "2030-01-01T10:05:00Z" }));
    expect(await res.json()).toEqual({ status: "applied" });
    expect((await attemptsOf(message.id))[0]).toMatchObject({ status: "cancelled", sentAt: new Date("2030-01-01T10:05:00Z") });
    expect((await messageRow(h, message.id)).status).toBe("accepted");
    await waitFor(async () => logLines.some((l) => l.attemptId === id && l.messageId === message.id && l.level === 40), {
      message: "the warning",
    });
    // And counted, for an alert: each is a message that may have gone out twice.
    const counted = (await h.ingest.registry.getSingleMetric("inboxerr_webhook_sent_after_cancel_total")?.get())?.values[0]?.value;
    expect(counted).toBeGreaterThanOrEqual(1);
  });
});

describe("POST /webhooks/sms-gate: system:ping", () => {
  const HEALTH = { status: "pass", checks: { "connection:status": { status: "pass", observedValue: 1 } } };
  const ping = (deviceId: string) => ({ ...envelope("system:ping", { health: HEALTH }), deviceId });

  async function account() {
    const key = `account-key-${randomUUID()}`;
    const [row] = await h.database.db
      .insert(gatewayAccounts)
      .values({
        ownerUserId: userId,
        name: `ping-${randomUUID()}`,
        baseUrl: "http://127.0.0.1:1/3rdparty/v1",
        username: "u",
        webhookSigningKey: sealSecret(SECRETS, "gateway_accounts.webhook_signing_key", key),
      })
      .returning();
    return { id: row!.id, key };
  }

  /** One sender of `deviceId` on each account. */
  async function sendersOn(deviceId: string, accountIds: string[]) {
    const rows = await h.database.db.insert(senders).values(accountIds.map((accountId) => ({ accountId, deviceId }))).returning();
    return accountIds.map((a) => rows.find((r) => r.accountId === a)!.id);
  }
  const seen = async (ids: string[]) =>
    (await h.database.db.select().from(senders).where(inArray(senders.id, ids))).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));

  it("through an account's URL marks that account's senders of the device seen, with the ping as health", async () => {
    const [mine, theirs] = [await account(), await account()];
    const deviceId = `dev-${randomUUID()}`;
    const [own, other] = await sendersOn(deviceId, [mine.id, theirs.id]);
    const res = await postSigned(`${h.url}/${mine.id}`, ping(deviceId), { key: mine.key });
    expect(await res.json()).toEqual({ status: "applied" });
    const [a, b] = await seen([own!, other!]);
    expect(a).toMatchObject({ lastSeenAt: expect.any(Date), health: { health: HEALTH }, status: "active" });
    expect(b).toMatchObject({ lastSeenAt: null, health: null });
  });

  it("through the legacy URL marks the default account's senders seen", async () => {
    const { accountId } = await ensureDefaultAccount(h.database.db, { SMSGATE_URL: "http://127.0.0.1:1/3rdparty/v1", SMSGATE_USERNAME: "inboxerr" });
    const other = await account();
    const deviceId = `dev-${randomUUID()}`;
    const [def, elsewhere] = await sendersOn(deviceId, [accountId, other.id]);
    expect(await (await postSigned(h.url, ping(deviceId))).json()).toEqual({ status: "applied" });
    const [a, b] = await seen([def!, elsewhere!]);
    expect(a!.lastSeenAt).not.toBeNull();
    expect(b!.lastSeenAt).toBeNull();
  });
});
