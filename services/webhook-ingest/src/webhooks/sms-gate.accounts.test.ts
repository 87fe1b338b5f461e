import { randomUUID } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ACCOUNT_NAME, ensureDefaultAccount, gatewayAccounts, inboundMessages, messageAttempts, sealSecret, senders } from "@inboxerr/db";
import { createTestUser, insertMessages } from "@inboxerr/testing";
import { envelope, messageRow, postSigned, SECRETS, SIGNING_KEY, startIngest, storedEnvelopes, type Harness } from "../testing/harness";

// POST /webhooks/sms-gate/:accountId verifies with that gateway account's own key (ADR 0020).

let h: Harness;
let userId: string;

beforeAll(async () => {
  // A mismatch may re-read the key at once here, so a rotation shows without waiting.
  h = await startIngest({ accountKeyCache: { recheckMs: 0 } });
  userId = (await createTestUser(h.database.db)).id;
});
afterAll(() => h.close());

const seal = (key: string) => sealSecret(SECRETS, "gateway_accounts.webhook_signing_key", key);

async function account(over: { key?: string | null; status?: "active" | "disabled" } = {}) {
  const key = over.key === undefined ? `account-key-${randomUUID()}` : over.key;
  const [row] = await h.database.db
    .insert(gatewayAccounts)
    .values({
      ownerUserId: userId,
      name: `acct-${randomUUID()}`,
      baseUrl: "http://127.0.0.1:1/3rdparty/v1",
      username: "u",
      password: sealSecret(SECRETS, "gateway_accounts.password", "p"),
      webhookSigningKey: key === null ? null : seal(key),
      status: over.status ?? "active",
    })
    .returning();
  return { id: row!.id, key: key ?? "" };
}

/** An accepted message with one attempt through a sender of `accountId` (none: no sender); returns the attempt id the gateway knows. */
async function attempt(accountId?: string) {
  const [message] = await insertMessages(h.database.db, userId, 1, { status: "accepted", acceptedAt: new Date() });
  const [sender] = accountId ? await h.database.db.insert(senders).values({ accountId, deviceId: `dev-${randomUUID()}` }).returning() : [];
  const [row] = await h.database.db
    .insert(messageAttempts)
    .values({ messageId: message!.id, n: 1, status: "accepted", senderId: sender?.id ?? null })
    .returning();
  return { messageId: message!.id, attemptId: row!.id };
}

const sentHook = (attemptId: string) => envelope("sms:sent", { messageId: attemptId, sentAt: new Date().toISOString() });

describe("POST /webhooks/sms-gate/:accountId", () => {
  it("applies a webhook signed with that account's key", async () => {
    const acct = await account();
    const { messageId, attemptId } = await attempt(acct.id);
    const res = await postSigned(`${h.url}/${acct.id}`, sentHook(attemptId), { key: acct.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "applied" });
    expect((await messageRow(h, messageId)).status).toBe("sent");
  });

  it("acts only on attempts made through that account's senders", async () => {
    const acct = await account();
    const other = await account();
    const elsewhere = await attempt(other.id);
    const unrouted = await attempt();
    for (const { messageId, attemptId } of [elsewhere, unrouted]) {
      const hook = sentHook(attemptId);
      const res = await postSigned(`${h.url}/${acct.id}`, hook, { key: acct.key });
      expect(await res.json()).toEqual({ status: "ignored" });
      expect(await storedEnvelopes(h, [hook.id])).toHaveLength(1);
      expect((await messageRow(h, messageId)).status).toBe("accepted");
    }
  });

  it("refuses the default account's key, and another account's, writing nothing", async () => {
    const acct = await account();
    const other = await account();
    const { messageId, attemptId } = await attempt();
    for (const key of [SIGNING_KEY, other.key]) {
      const hook = sentHook(attemptId);
      const res = await postSigned(`${h.url}/${acct.id}`, hook, { key });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ code: "invalid_signature" });
      expect(await storedEnvelopes(h, [hook.id])).toEqual([]);
    }
    expect((await messageRow(h, messageId)).status).toBe("accepted");
  });

  it("answers an unknown account 404, and a disabled one or one without a key 401, writing nothing", async () => {
    const disabled = await account({ status: "disabled" });
    const keyless = await account({ key: null });
    const cases = [
      { id: randomUUID(), key: SIGNING_KEY, status: 404, code: "not_found" },
      { id: "not-a-uuid", key: SIGNING_KEY, status: 404, code: "not_found" },
      { id: disabled.id, key: disabled.key, status: 401, code: "invalid_signature" },
      { id: keyless.id, key: SIGNING_KEY, status: 401, code: "invalid_signature" },
    ];
    for (const c of cases) {
      const { attemptId } = await attempt();
      const hook = sentHook(attemptId);
      const res = await postSigned(`${h.url}/${c.id}`, hook, { key: c.key });
      expect(res.status, c.id).toBe(c.status);
      expect(await res.json()).toMatchObject({ code: c.code });
      expect(await storedEnvelopes(h, [hook.id])).toEqual([]);
    }
  });

  it("takes a rotated key without a restart", async () => {
    const acct = await account();
    expect((await postSigned(`${h.url}/${acct.id}`, sentHook((await attempt(acct.id)).attemptId), { key: acct.key })).status).toBe(200);
    const rotated = `rotated-${randomUUID()}`;
    await h.database.db.update(gatewayAccounts).set({ webhookSigningKey: seal(rotated) }).where(eq(gatewayAccounts.id, acct.id));
    const res = await postSigned(`${h.url}/${acct.id}`, sentHook((await attempt(acct.id)).attemptId), { key: rotated });
    expect(await res.json()).toEqual({ status: "applied" });
    expect((await postSigned(`${h.url}/${acct.id}`, sentHook((await attempt(acct.id)).attemptId), { key: acct.key })).status).toBe(401);
  });

  it("gives an SMS received on a private account to its owner, never to whoever else texted that number", async () => {
    const acct = await account();
    const other = await createTestUser(h.database.db);
    // Stored as the phone saw it (not a number libphonenumber knows), so the test needs no region.
    const from = `SHOP${randomUUID().slice(0, 8)}`;
    await insertMessages(h.database.db, other.id, 1, { to: from, status: "delivered", acceptedAt: new Date() });
    const received = () => envelope("sms:received", { messageId: "h", message: "hi", sender: from, receivedAt: new Date().toISOString() });
    const ownerOf = async (envelopeId: string) =>
      (await h.database.db.select().from(inboundMessages).where(eq(inboundMessages.envelopeId, envelopeId)))[0]?.userId;

    const mine = received();
    expect((await postSigned(`${h.url}/${acct.id}`, mine, { key: acct.key })).status).toBe(200);
    expect(await ownerOf(mine.id)).toBe(userId);
    // The env's URL keeps the global rule: whoever last texted that number.
    const legacy = received();
    expect((await postSigned(h.url, legacy)).status).toBe(200);
    expect(await ownerOf(legacy.id)).toBe(other.id);
  });

  it("verifies the default account's own id with the env's key, as /webhooks/sms-gate (any attempt)", async () => {
    await ensureDefaultAccount(h.database.db, { SMSGATE_URL: "http://127.0.0.1:1/3rdparty/v1", SMSGATE_USERNAME: "inboxerr" });
    const [row] = await h.database.db
      .select()
      .from(gatewayAccounts)
      .where(and(eq(gatewayAccounts.name, DEFAULT_ACCOUNT_NAME), isNull(gatewayAccounts.ownerUserId)));
    const res = await postSigned(`${h.url}/${row!.id}`, sentHook((await attempt()).attemptId));
    expect(await res.json()).toEqual({ status: "applied" });
  });
});
