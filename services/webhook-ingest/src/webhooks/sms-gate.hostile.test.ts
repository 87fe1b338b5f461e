import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { inboundMessages } from "@inboxerr/db";
import { createTestUser, insertMessages } from "@inboxerr/testing";
import { envelope, messageRow, postSigned, startIngest, storedEnvelopes, type Harness } from "../testing/harness";

// Signed bodies no phone would send, each once found to make Postgres fail (a 500 the phone
// retries for two days) or to lose an inbound SMS to a 400. The answer must be final: 200, or
// a 400 problem+json for a body that can never be valid.

let h: Harness;
let userId: string;
beforeAll(async () => {
  h = await startIngest();
  userId = (await createTestUser(h.database.db)).id;
});
afterAll(() => h.close());

const accepted = async () => (await insertMessages(h.database.db, userId, 1, { status: "accepted", acceptedAt: new Date() }))[0]!;
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const inbound = async (envelopeId: string) =>
  (await h.database.db.select().from(inboundMessages).where(eq(inboundMessages.envelopeId, envelopeId)))[0];
const isRecent = (d: Date | null | undefined) => d !== null && d !== undefined && Math.abs(d.getTime() - Date.now()) < 60_000;

async function expectProblem(res: Response, code: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(await res.json()).toMatchObject({ status: 400, code });
}

describe("deep nesting", () => {
  it("refuses a signed body nested 50,000 deep with 400 malformed_json before it reaches Postgres", async () => {
    const hook = envelope("sms:teleported", { x: 1 });
    const res = await postSigned(h.url, JSON.stringify(hook).replace('"x":1', `"x":${nested(50_000)}`));
    await expectProblem(res, "malformed_json");
    expect(await storedEnvelopes(h, [hook.id])).toEqual([]);
  });

  it("refuses 33 levels and stores 32, brackets inside strings not counting", async () => {
    // The envelope and its payload are two levels already.
    const deep = envelope("sms:teleported", { x: 1 });
    await expectProblem(await postSigned(h.url, JSON.stringify(deep).replace('"x":1', `"x":${nested(31)}`)), "malformed_json");
    const ok = envelope("sms:teleported", { note: "[[[[".repeat(100), x: 1 });
    const res = await postSigned(h.url, JSON.stringify(ok).replace('"x":1', `"x":${nested(30)}`));
    expect(res.status).toBe(200);
    expect(await storedEnvelopes(h, [ok.id])).toHaveLength(1);
  });
});

describe("strings Postgres cannot store", () => {
  it("stores an inbound SMS whose text and sender hold lone surrogates, with U+FFFD, and answers 200", async () => {
    const hook = envelope("sms:received", { messageId: "h", message: "TEXT", sender: "SENDER", receivedAt: "2024-06-22T15:46:11+07:00" });
    const raw = JSON.stringify(hook).replace('"TEXT"', '"yes \\ud800 please \\udfff"').replace('"SENDER"', '"INFO\\udc00"');
    const res = await postSigned(h.url, raw);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "applied" });
    expect(await inbound(hook.id)).toMatchObject({ text: "yes \uFFFD please \uFFFD", fromNumber: "INFO\uFFFD" });
    const [stored] = await storedEnvelopes(h, [hook.id]);
    expect(stored?.payload).toMatchObject({ payload: { message: "yes \uFFFD please \uFFFD", sender: "INFO\uFFFD" } });
  });

  it("keeps a valid surrogate pair (an emoji) as it is", async () => {
    const hook = envelope("sms:received", { message: "TEXT", sender: "INFO", receivedAt: "2024-06-22T15:46:11+07:00" });
    const res = await postSigned(h.url, JSON.stringify(hook).replace('"TEXT"', '"ok \\ud83d\\ude00"'));
    expect(res.status).toBe(200);
    expect((await inbound(hook.id))?.text).toBe("ok \u{1F600}");
  });

  it("stores NUL and lone surrogates in the raw payload's keys and values (jsonb refuses both) as U+FFFD", async () => {
    const hook = envelope("sms:teleported", { k1: "v1", k2: "v2" });
    const raw = JSON.stringify(hook).replace('"k1"', '"a\\u0000"').replace('"v1"', '"b\\u0000"').replace('"k2"', '"c\\udfff"').replace('"v2"', '"\\ud800d"');
    const res = await postSigned(h.url, raw);
    expect(res.status).toBe(200);
    const [stored] = await storedEnvelopes(h, [hook.id]);
    expect(stored?.payload).toMatchObject({ payload: { "a\uFFFD": "b\uFFFD", "c\uFFFD": "\uFFFDd" } });
  });

  it("records an envelope id holding NUL as new, once, with U+FFFD in its place", async () => {
    const hook = envelope("sms:teleported", {}, `id-${randomBytes(8).toString("hex")}-\u0000`);
    expect(await (await postSigned(h.url, hook)).json()).toEqual({ status: "ignored" });
    expect(await (await postSigned(h.url, hook)).json()).toEqual({ status: "duplicate" });
    expect(await storedEnvelopes(h, [hook.id.replace("\u0000", "\uFFFD")])).toHaveLength(1);
  });

  it("refuses an envelope id longer than 256 characters (too long for its unique index) with 400, storing nothing", async () => {
    const hook = envelope("sms:teleported", {}, randomBytes(8_000).toString("base64"));
    const res = await postSigned(h.url, hook);
    await expectProblem(res, "validation_failed");
    expect(await storedEnvelopes(h, [hook.id])).toEqual([]);
  });
});

describe("out-of-range values", () => {
  it.each([
    ["2^31", String(2 ** 31)],
    ["-1", "-1"],
    ["0", "0"],
    ["1.5", "1.5"],
    ["1e400 (Infinity)", "1e400"],
    ['"2"', '"2"'],
    ["an object", '{"n":2}'],
  ])("applies sms:sent with partsCount %s, ignoring the count", async (_name, value) => {
    const msg = await accepted();
    const hook = envelope("sms:sent", { messageId: msg.id, sentAt: "2024-06-22T15:46:11+07:00", partsCount: 7 });
    const res = await postSigned(h.url, JSON.stringify(hook).replace('"partsCount":7', `"partsCount":${value}`));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "applied" });
    expect(await messageRow(h, msg.id)).toMatchObject({ status: "sent", partsExpected: null });
  });

  it.each([
    ["year 200000", "+200000-01-01T00:00:00Z"],
    ["year 0", "0000-01-01T00:00:00Z"],
    ["year 1899", "1899-12-31T23:59:59Z"],
  ])("applies a report stamped %s, with server time in place of the phone's", async (_name, at) => {
    const [sent, delivered] = [await accepted(), await accepted()];
    expect((await postSigned(h.url, envelope("sms:sent", { messageId: sent.id, sentAt: at }))).status).toBe(200);
    expect((await postSigned(h.url, envelope("sms:delivered", { messageId: delivered.id, deliveredAt: at }))).status).toBe(200);
    const s = await messageRow(h, sent.id);
    expect(s.status).toBe("sent");
    expect(isRecent(s.sentAt)).toBe(true);
    const d = await messageRow(h, delivered.id);
    expect(d.status).toBe("delivered");
    expect(isRecent(d.deliveredAt)).toBe(true);
  });

  it("stores an inbound SMS received in year 200000 at server time, and ignores a simNumber of 2^40", async () => {
    const hook = envelope("sms:received", { message: "hi", sender: "INFO", receivedAt: "+200000-01-01T00:00:00Z", simNumber: 2 ** 40 });
    const res = await postSigned(h.url, hook);
    expect(res.status).toBe(200);
    expect(isRecent((await inbound(hook.id))?.receivedAt)).toBe(true);
  });
});

describe("wrong shapes", () => {
  it.each([
    ["null", "null"],
    ["a number", "42"],
    ["an array", "[]"],
    ["a payload that is an array", JSON.stringify({ id: "x", webhookId: "w", deviceId: "d", event: "sms:sent", payload: [] })],
    ["an id that is a number", JSON.stringify({ id: 5, webhookId: "w", deviceId: "d", event: "sms:teleported", payload: {} })],
    ["sms:received without its text", JSON.stringify(envelope("sms:received", { sender: "INFO", receivedAt: "2024-06-22T15:46:11Z" }))],
  ])("answers %s with 400 problem+json", async (_name, raw) => {
    await expectProblem(await postSigned(h.url, raw), "validation_failed");
  });
});
