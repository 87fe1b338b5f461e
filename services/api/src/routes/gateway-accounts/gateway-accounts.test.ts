import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultAccount, gatewayAccounts, messageAttempts, messages, openSecret, parseSecretsKey, senders } from "@inboxerr/db";
import { uniqueSuffix, waitFor } from "@inboxerr/testing";
import { startTestApi, TEST_SECRETS_KEY, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const account = (over: Record<string, unknown> = {}) => ({
  name: `phones-${uniqueSuffix()}`,
  baseUrl: "https://api.sms-gate.app/3rdparty/v1",
  username: "Z9XQ",
  password: "gateway-pass-1",
  webhookSigningKey: "signing-key-0123456789",
  ...over,
});

describe("/api/v1/gateway-accounts", () => {
  it("stores secrets sealed, never returns them, and lets the owner change and delete the account", async () => {
    const { token, user } = await api.user();
    const body = account();
    const created = await api.call("POST", "/api/v1/gateway-accounts", { token, body });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: body.name,
      kind: "smsgate",
      baseUrl: body.baseUrl,
      username: "Z9XQ",
      status: "active",
      shared: false,
      managedBy: "api",
      hasPassword: true,
      hasWebhookSigningKey: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const [row] = await api.db.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.id, created.body.id));
    expect(row).toMatchObject({ ownerUserId: user.id });
    expect(JSON.stringify(row)).not.toContain(body.password);
    expect(JSON.stringify(row)).not.toContain(body.webhookSigningKey);
    const key = parseSecretsKey(TEST_SECRETS_KEY);
    expect(openSecret(key, "gateway_accounts.password", row!.password!)).toBe(body.password);
    expect(openSecret(key, "gateway_accounts.webhook_signing_key", row!.webhookSigningKey!)).toBe(body.webhookSigningKey);

    const patched = await api.call("PATCH", `/api/v1/gateway-accounts/${created.body.id}`, {
      token,
      body: { password: "gateway-pass-2", status: "disabled" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: "disabled", name: body.name, hasPassword: true });
    const [after] = await api.db.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.id, created.body.id));
    expect(openSecret(key, "gateway_accounts.password", after!.password!)).toBe("gateway-pass-2");
    expect(after!.webhookSigningKey).toBe(row!.webhookSigningKey);

    for (const res of [
      await api.call("GET", "/api/v1/gateway-accounts", { token }),
      await api.call("GET", `/api/v1/gateway-accounts/${created.body.id}`, { token }),
    ]) {
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).not.toMatch(/gateway-pass|signing-key-0123|v1:/);
    }

    expect((await api.call("DELETE", `/api/v1/gateway-accounts/${created.body.id}`, { token })).status).toBe(204);
    expect((await api.call("GET", `/api/v1/gateway-accounts/${created.body.id}`, { token })).status).toBe(404);
  });

  it("validates input: URL, signing key length, unknown fields, duplicate names", async () => {
    const { token } = await api.user();
    const bad = await api.call("POST", "/api/v1/gateway-accounts", {
      token,
      body: account({ baseUrl: "ftp://x", webhookSigningKey: "short", daily_cap: 1 }),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["(body)", "baseUrl", "webhookSigningKey"]);
    const body = account();
    expect((await api.call("POST", "/api/v1/gateway-accounts", { token, body })).status).toBe(201);
    const dup = await api.call("POST", "/api/v1/gateway-accounts", { token, body });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe("conflict");
  });

  it("answers 503 when a secret must be stored and SECRETS_KEY is unset, and stores nothing", async () => {
    const keyless = await startTestApi({ config: { SECRETS_KEY: undefined } });
    try {
      const { token } = await keyless.user();
      const body = account();
      const res = await keyless.call("POST", "/api/v1/gateway-accounts", { token, body });
      expect(res.status).toBe(503);
      expect(res.body.detail).toMatch(/SECRETS_KEY/);
      expect(await keyless.db.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.name, body.name))).toEqual([]);
    } finally {
      await keyless.stop();
    }
  });

  it("lets only admins add and manage shared accounts, which every user sees read-only", async () => {
    const admin = await api.user("admin");
    const user = await api.user();
    expect((await api.call("POST", "/api/v1/gateway-accounts", { token: user.token, body: account({ shared: true }) })).status).toBe(403);
    const shared = await api.call("POST", "/api/v1/gateway-accounts", { token: admin.token, body: account({ shared: true }) });
    expect(shared.status).toBe(201);
    expect(shared.body.shared).toBe(true);

    const listed = await api.call("GET", "/api/v1/gateway-accounts", { token: user.token });
    expect(listed.body.data.map((a: { id: string }) => a.id)).toContain(shared.body.id);
    expect((await api.call("GET", `/api/v1/gateway-accounts/${shared.body.id}`, { token: user.token })).status).toBe(200);
    expect((await api.call("PATCH", `/api/v1/gateway-accounts/${shared.body.id}`, { token: user.token, body: { name: "mine" } })).status).toBe(403);
    expect((await api.call("DELETE", `/api/v1/gateway-accounts/${shared.body.id}`, { token: user.token })).status).toBe(403);
    const renamed = await api.call("PATCH", `/api/v1/gateway-accounts/${shared.body.id}`, { token: admin.token, body: { name: `renamed-${uniqueSuffix()}` } });
    expect(renamed.status).toBe(200);
  });

  it("shows the env's default account as managedBy env and refuses to change or delete it", async () => {
    const { accountId } = await ensureDefaultAccount(api.db.db, api.config);
    const admin = await api.user("admin");
    const got = await api.call("GET", `/api/v1/gateway-accounts/${accountId}`, { token: admin.token });
    expect(got.body).toMatchObject({ name: "default", shared: true, managedBy: "env", hasPassword: true });
    for (const res of [
      await api.call("PATCH", `/api/v1/gateway-accounts/${accountId}`, { token: admin.token, body: { username: "x" } }),
      await api.call("DELETE", `/api/v1/gateway-accounts/${accountId}`, { token: admin.token }),
      await api.call("POST", "/api/v1/gateway-accounts", { token: admin.token, body: account({ name: "default", shared: true }) }),
    ]) {
      expect(res.status).toBe(409);
      expect(res.body.detail).toMatch(/SMSGATE_/);
    }
  });

  it("refuses to delete an account while waiting messages are pinned to its senders", async () => {
    const { token, user } = await api.user();
    const created = await api.call("POST", "/api/v1/gateway-accounts", { token, body: account() });
    const [sender] = await api.db.db.insert(senders).values({ accountId: created.body.id, deviceId: "d1" }).returning();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "pinned" } });
    await api.db.db.update(messages).set({ pinnedSenderId: sender!.id }).where(eq(messages.id, sent.body.id));

    const refused = await api.call("DELETE", `/api/v1/gateway-accounts/${created.body.id}`, { token });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/1 waiting messages are pinned/);
    await api.call("POST", `/api/v1/messages/${sent.body.id}/cancel`, { token });
    expect((await api.call("DELETE", `/api/v1/gateway-accounts/${created.body.id}`, { token })).status).toBe(204);
    expect(await api.db.db.select().from(senders).where(eq(senders.accountId, created.body.id))).toEqual([]);
    const [message] = await api.db.db.select().from(messages).where(eq(messages.userId, user.id));
    expect(message).toMatchObject({ status: "cancelled", pinnedSenderId: null });
  });

  it("refuses to delete an account while one of its senders has a message in flight, so its retry cannot go out elsewhere", async () => {
    const { token } = await api.user();
    const created = await api.call("POST", "/api/v1/gateway-accounts", { token, body: account() });
    const [sender] = await api.db.db.insert(senders).values({ accountId: created.body.id, deviceId: "d1" }).returning();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "in flight" } });
    const [attempt] = await api.db.db
      .insert(messageAttempts)
      .values({ messageId: sent.body.id, n: 1, status: "sending", senderId: sender!.id })
      .returning();

    for (const status of ["sending", "accepted", "sent"] as const) {
      await api.db.db.update(messageAttempts).set({ status }).where(eq(messageAttempts.id, attempt!.id));
      const refused = await api.call("DELETE", `/api/v1/gateway-accounts/${created.body.id}`, { token });
      expect(refused.status).toBe(409);
      expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(refused.body.detail).toMatch(/1 messages are in flight through this account's senders; retry when they finish/);
      // Nothing changed: the attempt keeps its sender.
      expect((await api.db.db.select().from(messageAttempts).where(eq(messageAttempts.id, attempt!.id)))[0]).toMatchObject({ status, senderId: sender!.id });
    }

    // Once it ended, the account goes and the attempt stays, without a sender.
    await api.db.db.update(messageAttempts).set({ status: "delivered" }).where(eq(messageAttempts.id, attempt!.id));
    expect((await api.call("DELETE", `/api/v1/gateway-accounts/${created.body.id}`, { token })).status).toBe(204);
    expect((await api.db.db.select().from(messageAttempts).where(eq(messageAttempts.id, attempt!.id)))[0]).toMatchObject({ senderId: null });
  });

  it("checks for attempts under the senders' lock: an attempt being opened makes the delete wait, then refuse", async () => {
    const { token } = await api.user();
    const created = await api.call("POST", "/api/v1/gateway-accounts", { token, body: account() });
    const [sender] = await api.db.db.insert(senders).values({ accountId: created.body.id, deviceId: "d1" }).returning();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "racing" } });

    // A claim opening an attempt on the sender, not yet committed (its foreign key check holds
    // the sender row `for key share`).
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const claim = api.db.db.transaction(async (tx) => {
      await tx.insert(messageAttempts).values({ messageId: sent.body.id, n: 1, status: "sending", senderId: sender!.id });
      opened();
      await committing;
    });
    await isOpen;
    const deleting = api.call("DELETE", `/api/v1/gateway-accounts/${created.body.id}`, { token });
    await waitFor(
      async () => {
        const { rows } = await api.db.db.execute(
          sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%from "senders"%for update%'`,
        );
        return rows.length > 0;
      },
      { message: "the delete waits on the senders' lock" },
    );
    commit();
    await claim;
    const refused = await deleting;
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/1 messages are in flight/);
  });
});
