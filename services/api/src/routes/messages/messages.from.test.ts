import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batches, gatewayAccounts, messages, senders } from "@inboxerr/db";
import { waitFor } from "@inboxerr/testing";
import { insertFleet, uniquePhone } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const pinnedOf = async (userId: string) =>
  (await api.db.db.select({ pinned: messages.pinnedSenderId }).from(messages).where(eq(messages.userId, userId))).map((r) => r.pinned);

const send = (token: string, from: string, extra: Record<string, unknown> = {}) =>
  api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "hi", from, ...extra } });

describe("`from` on POST /api/v1/messages", () => {
  it("pins the message to a sender named by id, or by its number written like a recipient", async () => {
    const { token, user } = await api.user();
    const phone = uniquePhone();
    const { senders: [sim] } = await insertFleet(api.db.db, user.id, [{ phoneNumber: phone }]);

    const byId = await send(token, sim!.id.toUpperCase());
    expect(byId.status).toBe(202);
    // Pinned, not yet sent: the message shows no sender until an attempt picks one.
    expect(byId.body).toMatchObject({ status: "queued", senderId: null, from: null, attemptCount: 0, waitingReason: null });
    const national = `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`;
    expect((await send(token, national)).status).toBe(202);
    expect(await pinnedOf(user.id)).toEqual([sim!.id, sim!.id]);
  });

  it("accepts a paused or offline sender (the message waits for it) and refuses a retired one", async () => {
    const { token, user } = await api.user();
    const { senders: [paused, offline, retired] } = await insertFleet(api.db.db, user.id, [
      { status: "paused" },
      { status: "offline" },
      { status: "retired", phoneNumber: uniquePhone() },
    ]);
    expect((await send(token, paused!.id)).status).toBe(202);
    expect((await send(token, offline!.id)).status).toBe(202);
    for (const from of [retired!.id, retired!.phoneNumber!]) {
      const res = await send(token, from);
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: "from", code: "sender_retired" })]);
    }
    expect((await pinnedOf(user.id)).sort()).toEqual([paused!.id, offline!.id].sort());
  });

  it("answers 422 unknown_sender for another user's private sender, by id or number, and stores nothing", async () => {
    const owner = await api.user();
    const other = await api.user();
    const admin = await api.user("admin");
    const phone = uniquePhone();
    const { senders: [sim] } = await insertFleet(api.db.db, owner.user.id, [{ phoneNumber: phone }]);
    const nobody = "00000000-0000-4000-8000-000000000000";
    // The answer names what was asked and nothing else, alike for a sender that does not exist.
    const masked = (body: { detail: string }, asked: string) => body.detail.replace(asked, "<from>");
    const missing = await send(other.token, nobody);
    for (const caller of [other, admin]) {
      for (const from of [sim!.id, phone, "not a sender", nobody]) {
        const res = await send(caller.token, from);
        expect(res.status, from).toBe(422);
        expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ code: "unprocessable", errors: [{ path: "from", code: "unknown_sender" }] });
        if (from === sim!.id) expect(masked(res.body, from)).toBe(masked(missing.body, nobody));
      }
      expect(await pinnedOf(caller.user.id)).toEqual([]);
    }
  });

  it("lets a user without senders pin a shared one, and keeps a user with their own to those", async () => {
    const admin = await api.user("admin");
    const { senders: [shared] } = await insertFleet(api.db.db, null, [{ phoneNumber: uniquePhone() }]);
    const plain = await api.user();
    expect((await send(plain.token, shared!.id)).status).toBe(202);
    expect((await send(admin.token, shared!.id)).status).toBe(202);

    const owner = await api.user();
    await insertFleet(api.db.db, owner.user.id, [{}]);
    const refused = await send(owner.token, shared!.id);
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: "from", code: "sender_not_allowed" })]);
    expect(await pinnedOf(owner.user.id)).toEqual([]);
  });

  it("treats a user whose own senders are all retired as having none, as the router does: the shared ones are theirs to pin", async () => {
    const { senders: [shared] } = await insertFleet(api.db.db, null, [{ phoneNumber: uniquePhone() }]);
    const { token, user } = await api.user();
    const { senders: [mine] } = await insertFleet(api.db.db, user.id, [{ status: "retired" }]);
    expect((await send(token, shared!.id)).status).toBe(202);
    expect(await pinnedOf(user.id)).toEqual([shared!.id]);
    // One of their own back in service: their messages go through theirs only again.
    await api.db.db.update(senders).set({ status: "paused" }).where(eq(senders.id, mine!.id));
    const refused = await send(token, shared!.id);
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: "from", code: "sender_not_allowed" })]);
  });

  it("answers 422 ambiguous_sender when several of the caller's senders have the number, naming their ids", async () => {
    const { token, user } = await api.user();
    const phone = uniquePhone();
    const { senders: [a, b] } = await insertFleet(api.db.db, user.id, [{ phoneNumber: phone }, { phoneNumber: phone }]);
    const res = await send(token, phone);
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: "from", code: "ambiguous_sender" })]);
    expect(res.body.errors[0].detail).toContain(a!.id);
    expect(res.body.errors[0].detail).toContain(b!.id);
    expect(await pinnedOf(user.id)).toEqual([]);
    // A retired twin is no ambiguity: the number means the one that can still send.
    await api.db.db.update(senders).set({ status: "retired" }).where(eq(senders.id, a!.id));
    expect((await send(token, phone)).status).toBe(202);
    expect(await pinnedOf(user.id)).toEqual([b!.id]);
  });

  it("counts `from` in the Idempotency-Key fingerprint: the same key with another sender is 422", async () => {
    const { token, user } = await api.user();
    const { senders: [a, b] } = await insertFleet(api.db.db, user.id, [{}, {}]);
    const headers = { "idempotency-key": "pin-1" };
    const once = await api.call("POST", "/api/v1/messages", { token, headers, body: { to: "+14155552671", text: "hi", from: a!.id } });
    const replay = await api.call("POST", "/api/v1/messages", { token, headers, body: { to: "+14155552671", text: "hi", from: a!.id } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.id).toBe(once.body.id);
    const other = await api.call("POST", "/api/v1/messages", { token, headers, body: { to: "+14155552671", text: "hi", from: b!.id } });
    expect(other.status).toBe(422);
    expect(await pinnedOf(user.id)).toEqual([a!.id]);
  });

  it("waits for an account delete holding the sender, then finds the sender gone (ADR 0017)", async () => {
    const { token, user } = await api.user();
    const { accountId, senders: [sim] } = await insertFleet(api.db.db, user.id, [{}]);
    let pending: ReturnType<typeof send> | undefined;
    await api.db.db.transaction(async (tx) => {
      // What DELETE /gateway-accounts/:id does first.
      await tx.select({ id: senders.id }).from(senders).where(eq(senders.accountId, accountId)).for("update");
      pending = send(token, sim!.id);
      await waitFor(async () => {
        const r = await api.db.db.execute<{ n: number }>(sql`
          select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where not l.granted and a.datname = current_database() and a.query ilike '%for share of%'`);
        return r.rows[0]!.n > 0;
      }, { timeoutMs: 10_000 });
      await tx.delete(gatewayAccounts).where(eq(gatewayAccounts.id, accountId));
    });
    const res = await pending!;
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: "unknown_sender" })]);
    expect(await pinnedOf(user.id)).toEqual([]);
  });
});

describe("`from` on POST /api/v1/messages/bulk", () => {
  it("pins every message of the request to the sender", async () => {
    const { token, user } = await api.user();
    const phone = uniquePhone();
    const { senders: [sim] } = await insertFleet(api.db.db, user.id, [{ phoneNumber: phone }]);
    const res = await api.call("POST", "/api/v1/messages/bulk", {
      token,
      body: { text: "hi {{n}}", from: phone, messages: Array.from({ length: 25 }, (_, n) => ({ to: `+1415555${String(n).padStart(4, "0")}`, variables: { n } })) },
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(25);
    expect(await pinnedOf(user.id)).toEqual(Array.from({ length: 25 }, () => sim!.id));
  });

  it("answers 422 for a sender the caller may not use, storing neither batch nor messages", async () => {
    const owner = await api.user();
    const { token, user } = await api.user();
    const { senders: [foreign] } = await insertFleet(api.db.db, owner.user.id, [{}]);
    const res = await api.call("POST", "/api/v1/messages/bulk", {
      token,
      body: { text: "hi", from: foreign!.id, messages: [{ to: "+14155552671" }, { to: "+14155552672" }] },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: "from", code: "unknown_sender" })]);
    expect(await pinnedOf(user.id)).toEqual([]);
    expect(await api.db.db.select().from(batches).where(eq(batches.userId, user.id))).toEqual([]);
  });
});
