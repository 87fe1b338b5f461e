import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, messages } from "@inboxerr/db";
import { startTestApi, type TestApi } from "./testing/harness";

// Invariant 6: input Postgres cannot store or compare (NUL in text, an unpaired surrogate, a
// year it has no date for) is a 400 naming the field, never a 500, and changes nothing.
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const to = "+14155552671";
const NUL = "\u0000";
const future = new Date(Date.now() + 3_600_000).toISOString();

type Case = { name: string; method: "GET" | "POST"; path: string; body?: unknown; headers?: Record<string, string>; field: string };

const cases: Case[] = [
  { name: "NUL in a message's text", method: "POST", path: "/messages", body: { to, text: `hi${NUL}there` }, field: "text" },
  { name: "NUL in customId", method: "POST", path: "/messages", body: { to, text: "hi", customId: `a${NUL}b` }, field: "customId" },
  { name: "NUL in to", method: "POST", path: "/messages", body: { to: `${to}${NUL}`, text: "hi" }, field: "to" },
  {
    name: "an unpaired surrogate in the text of an idempotent send",
    method: "POST",
    path: "/messages",
    body: { to, text: "hi \ud83d" },
    headers: { "idempotency-key": "lone-surrogate" },
    field: "text",
  },
  { name: "NUL in a bulk recipient's customId", method: "POST", path: "/messages/bulk", body: { text: "hi", messages: [{ to, customId: `x${NUL}` }] }, field: "messages.0.customId" },
  {
    name: "NUL in a bulk recipient's variables",
    method: "POST",
    path: "/messages/bulk",
    body: { text: "hi {{n}}", messages: [{ to, variables: { n: NUL } }] },
    field: "messages.0.variables.n",
  },
  {
    name: "NUL in one bulk recipient's text, the others valid",
    method: "POST",
    path: "/messages/bulk",
    body: { messages: [{ to, text: "fine" }, { to, text: `bad${NUL}` }] },
    field: "messages.1.text",
  },
  { name: "NUL in the shared bulk text", method: "POST", path: "/messages/bulk", body: { text: `hi${NUL}`, messages: [{ to }] }, field: "text" },
  { name: "NUL in the inbound `from` filter", method: "GET", path: "/inbound-messages?from=%00abc", field: "from" },
  { name: "NUL in the message `phone` filter", method: "GET", path: "/messages?phone=%2B1415%00", field: "phone" },
  { name: "NUL in an API key's name", method: "POST", path: "/api-keys", body: { name: `k${NUL}` }, field: "name" },
  { name: "a year-0000 scheduledAt", method: "POST", path: "/messages", body: { to, text: "hi", scheduledAt: "0000-01-01T00:00:00Z" }, field: "scheduledAt" },
  {
    name: "a validUntil past 9999 in UTC",
    method: "POST",
    path: "/messages/bulk",
    body: { text: "hi", messages: [{ to }], scheduledAt: future, validUntil: "9999-12-31T23:00:00-05:00" },
    field: "validUntil",
  },
  { name: "a year-0000 createdAfter", method: "GET", path: "/messages?createdAfter=0000-01-01T00:00:00Z", field: "createdAfter" },
  { name: "a year-0000 receivedBefore", method: "GET", path: "/inbound-messages?receivedBefore=0000-01-01T00:00:00Z", field: "receivedBefore" },
  {
    name: "a year-0000 metrics window",
    method: "GET",
    path: "/metrics/summary?from=0000-01-01T00:00:00Z&to=0000-06-01T00:00:00Z",
    field: "from",
  },
  { name: "a year-0000 timeseries start", method: "GET", path: "/metrics/timeseries?granularity=day&from=0000-01-01T00:00:00Z", field: "from" },
];

describe("input Postgres cannot take", () => {
  it.for(cases)("answers $name with 400 naming the field, and stores nothing", async ({ method, path, body, headers, field }) => {
    const { user, token } = await api.user();
    const res = await api.call(method, `/api/v1${path}`, { token, body, headers });

    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: "validation_failed", errors: expect.arrayContaining([expect.objectContaining({ path: field })]) });
    expect(await api.db.db.select().from(messages).where(eq(messages.userId, user.id))).toEqual([]);
    expect(await api.db.db.select().from(apiKeys).where(eq(apiKeys.userId, user.id))).toEqual([]);
  });

  it("says what is wrong with a NUL or an out-of-range date", async () => {
    const { token } = await api.user();
    const nul = await api.call("POST", "/api/v1/messages", { token, body: { to, text: NUL } });
    expect(nul.body.errors).toContainEqual(expect.objectContaining({ path: "text", detail: expect.stringContaining("NUL") }));
    const year = await api.call("GET", "/api/v1/messages?createdBefore=0000-01-01T00:00:00Z", { token });
    expect(year.body.errors).toContainEqual(expect.objectContaining({ detail: "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z" }));
  });

  it("answers NUL in registration and login fields with 400", async () => {
    const email = `nul-${Date.now()}@test.inboxerr.dev`;
    for (const body of [
      // Strong passwords, so NUL is the only thing wrong with each body.
      { email, password: "plum quartz mitten", name: `n${NUL}` },
      { email, password: `plum quartz${NUL}mitten` },
      { email: `a${NUL}${email}`, password: "plum quartz mitten" },
    ]) {
      const res = await api.call("POST", "/api/v1/auth/register", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api.call("POST", "/api/v1/auth/token", { body: { email, password: `x${NUL}` } })).status).toBe(400);
  });
});
