import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayAccounts, messageAttempts, sealSecret, senders } from "@inboxerr/db";
import { createSmsGateDriver } from "@inboxerr/gateway";
import { createLogger } from "@inboxerr/logger";
import { CREDENTIALS, startSimulator } from "@inboxerr/gateway-simulator/testing";
import { createTestUser, insertMessages, waitFor } from "@inboxerr/testing";
import { messageRow, SECRETS, startIngest, type Harness } from "../testing/harness";
import { accountWebhookUrl, createAccountRegistration } from "./accounts";
import { startPeriodicRegistration } from "./background";
import { REGISTERED_EVENTS, webhookIdFor } from "./register";

const logger = createLogger({ service: "account-registration-test", level: "silent" });

let h: Harness;
let gateway: Awaited<ReturnType<typeof startSimulator>>;
let userId: string;

beforeAll(async () => {
  h = await startIngest();
  gateway = await startSimulator({ latencyMs: 10, failureRate: 0 });
  userId = (await createTestUser(h.database.db)).id;
});
afterAll(async () => {
  await gateway?.close();
  await h?.close();
});

/** A simulator account with its own signing key, and its row in gateway_accounts. */
async function simulatedAccount(opts: { withKey?: boolean } = {}) {
  const login = { username: `acct-${randomUUID().slice(0, 8)}`, password: `pw-${randomUUID()}` };
  const signingKey = `account-signing-key-${randomUUID()}`;
  const created = await gateway.control("POST", "/accounts", { ...login, signingKey });
  expect(created.status).toBe(201);
  const [row] = await h.database.db
    .insert(gatewayAccounts)
    .values({
      ownerUserId: userId,
      name: login.username,
      baseUrl: gateway.api,
      username: login.username,
      password: sealSecret(SECRETS, "gateway_accounts.password", login.password),
      webhookSigningKey: opts.withKey === false ? null : sealSecret(SECRETS, "gateway_accounts.webhook_signing_key", signingKey),
    })
    .returning();
  const driver = createSmsGateDriver({ baseUrl: gateway.api, ...login, timeoutMs: 5_000 });
  return { id: row!.id, login, driver };
}

const registration = () => createAccountRegistration({ db: h.database, secrets: SECRETS, publicUrl: h.url, timeoutMs: 5_000, logger });

describe("per-account webhook registration", () => {
  it("registers PUBLIC_WEBHOOK_URL/<account id> on the account's gateway, and its signed webhooks apply", async () => {
    const acct = await simulatedAccount();
    const keyless = await simulatedAccount({ withKey: false });
    const reg = registration();
    const pass = await reg.runOnce();
    // Other test files' accounts (unreachable gateways) may fail in the same pass.
    expect(pass.registered).toContain(acct.id);
    expect(pass.failed).not.toContain(acct.id);

    const url = accountWebhookUrl(h.url, acct.id);
    expect(url).toBe(`${h.url}/${acct.id}`);
    const hooks = (await acct.driver.listWebhooks()).sort((a, b) => a.event.localeCompare(b.event));
    expect(hooks).toEqual([...REGISTERED_EVENTS].sort().map((event) => ({ id: webhookIdFor(event), url, event, deviceId: null })));
    // Without a signing key nothing could verify its webhooks: not registered.
    expect(await keyless.driver.listWebhooks()).toEqual([]);
    // The primary (default) account is not this pass's business.
    expect((await createSmsGateDriver({ baseUrl: gateway.api, ...CREDENTIALS, timeoutMs: 5_000 }).listWebhooks()).some((w) => w.url === url)).toBe(false);

    // A settled account is not registered again.
    expect((await reg.runOnce()).registered).not.toContain(acct.id);

    // The simulator plays an attempt out and calls back, signed with the account's key.
    const [message] = await insertMessages(h.database.db, userId, 1, { status: "accepted", acceptedAt: new Date() });
    const [sender] = await h.database.db.insert(senders).values({ accountId: acct.id, deviceId: `dev-${randomUUID()}` }).returning();
    const [attempt] = await h.database.db
      .insert(messageAttempts)
      .values({ messageId: message!.id, n: 1, status: "accepted", senderId: sender!.id })
      .returning();
    expect((await acct.driver.send({ id: attempt!.id, to: message!.to, text: message!.text })).kind).toBe("accepted");
    await waitFor(async () => (await messageRow(h, message!.id)).status === "delivered", { message: "delivered through the account's webhook" });
    const [row] = await h.database.db.select().from(messageAttempts).where(eq(messageAttempts.messageId, message!.id)).orderBy(asc(messageAttempts.n));
    expect(row!.status).toBe("delivered");
  });

  it("registers an account added later on the next periodic pass", async () => {
    const reg = registration();
    const loop = startPeriodicRegistration({ pass: () => reg.runOnce(), intervalMs: 50, firstWithinMs: 10, logger });
    try {
      const acct = await simulatedAccount();
      await waitFor(async () => (await acct.driver.listWebhooks()).length === REGISTERED_EVENTS.length, { message: "registered by a later pass" });
    } finally {
      await loop.stop();
    }
  });

  it("counts an account whose gateway refuses the login as failed, and goes on with the others", async () => {
    const good = await simulatedAccount();
    const bad = await simulatedAccount();
    await h.database.db
      .update(gatewayAccounts)
      .set({ password: sealSecret(SECRETS, "gateway_accounts.password", "wrong") })
      .where(eq(gatewayAccounts.id, bad.id));
    const pass = await registration().runOnce();
    expect(pass.failed).toContain(bad.id);
    expect(pass.registered).toContain(good.id);
    expect(await good.driver.listWebhooks()).toHaveLength(REGISTERED_EVENTS.length);
    expect(await bad.driver.listWebhooks()).toEqual([]);
  });
});
