import fc from "fast-check";
import { AUTH_CHOICES, type AuthChoice } from "./auth";
import { deep, type BodyRecipe } from "./bodies";
import { oneLine, SIGNATURES, type FuzzRequest } from "./send";
import {
  bigNumber,
  dateish,
  emailish,
  hostileString,
  hugeString,
  jsonish,
  junk,
  mostly,
  phoneish,
  pollutedObject,
  shaped,
  textish,
  variablesish,
} from "./values";

/** Ids of the fuzz tenant's real rows, so `{id}` paths reach rows as well as misses. */
export type RealIds = { messageIds: string[]; batchId: string; spareApiKeyId: string; webhookEndpointId?: string; webhookDeliveryId?: string };

type BodyShape = "register" | "token" | "apiKey" | "message" | "bulk" | "webhook" | "gatewayAccount" | "sender" | "webhookEndpoint" | "replay";
type Endpoint = { method: string; path: string; body?: BodyShape; query?: Record<string, fc.Arbitrary<unknown>> };

const API_BODY_LIMIT = 5 * 1024 * 1024;
const INGEST_BODY_LIMIT = 256 * 1024;

const windowQuery = { from: dateish, to: dateish };
/** Every operation of the api: /api/v1 (the test checks this against /openapi.json), docs and ops. */
export const API_ENDPOINTS: Endpoint[] = [
  { method: "POST", path: "/api/v1/auth/register", body: "register" },
  { method: "POST", path: "/api/v1/auth/token", body: "token" },
  { method: "GET", path: "/api/v1/auth/me" },
  { method: "POST", path: "/api/v1/api-keys", body: "apiKey" },
  { method: "GET", path: "/api/v1/api-keys" },
  { method: "DELETE", path: "/api/v1/api-keys/{id}" },
  { method: "POST", path: "/api/v1/messages", body: "message" },
  { method: "POST", path: "/api/v1/messages/bulk", body: "bulk" },
  {
    method: "GET",
    path: "/api/v1/messages",
    query: { status: mostly(fc.constantFrom("queued", "sent", "delivered", "bogus")), phone: phoneish, batchId: junk, senderId: junk, createdAfter: dateish, createdBefore: dateish, limit: bigNumber, cursor: hostileString() },
  },
  { method: "GET", path: "/api/v1/messages/{id}" },
  { method: "POST", path: "/api/v1/messages/{id}/cancel" },
  { method: "GET", path: "/api/v1/batches/{id}" },
  { method: "GET", path: "/api/v1/inbound-messages", query: { from: phoneish, receivedAfter: dateish, receivedBefore: dateish, limit: bigNumber, cursor: hostileString() } },
  { method: "GET", path: "/api/v1/metrics/summary", query: { ...windowQuery, senderId: junk } },
  { method: "GET", path: "/api/v1/metrics/timeseries", query: { ...windowQuery, granularity: mostly(fc.constantFrom("minute", "hour", "day", "week")) } },
  { method: "GET", path: "/api/v1/metrics/failures", query: { ...windowQuery, senderId: junk, userId: junk } },
  { method: "POST", path: "/api/v1/gateway-accounts", body: "gatewayAccount" },
  { method: "GET", path: "/api/v1/gateway-accounts" },
  { method: "GET", path: "/api/v1/gateway-accounts/{id}" },
  { method: "PATCH", path: "/api/v1/gateway-accounts/{id}", body: "gatewayAccount" },
  { method: "DELETE", path: "/api/v1/gateway-accounts/{id}" },
  { method: "POST", path: "/api/v1/gateway-accounts/{id}/sync" },
  { method: "GET", path: "/api/v1/senders", query: { accountId: junk, status: mostly(fc.constantFrom("active", "paused", "offline", "retired", "bogus")) } },
  { method: "GET", path: "/api/v1/senders/{id}" },
  { method: "GET", path: "/api/v1/senders/{id}/events", query: { limit: bigNumber, cursor: hostileString() } },
  { method: "PATCH", path: "/api/v1/senders/{id}", body: "sender" },
  { method: "POST", path: "/api/v1/webhook-endpoints", body: "webhookEndpoint" },
  { method: "GET", path: "/api/v1/webhook-endpoints", query: { limit: bigNumber, cursor: hostileString() } },
  { method: "GET", path: "/api/v1/webhook-endpoints/{id}" },
  { method: "PATCH", path: "/api/v1/webhook-endpoints/{id}", body: "webhookEndpoint" },
  { method: "DELETE", path: "/api/v1/webhook-endpoints/{id}" },
  { method: "POST", path: "/api/v1/webhook-endpoints/{id}/rotate-secret" },
  { method: "POST", path: "/api/v1/webhook-endpoints/{id}/test" },
  { method: "POST", path: "/api/v1/webhook-endpoints/{id}/replay", body: "replay" },
  {
    method: "GET",
    path: "/api/v1/webhook-endpoints/{id}/deliveries",
    query: { status: mostly(fc.constantFrom("pending", "failed", "succeeded", "exhausted", "bogus")), type: mostly(fc.constantFrom("message.sent", "webhook.test", "bogus")), eventId: junk, limit: bigNumber, cursor: hostileString() },
  },
  { method: "GET", path: "/api/v1/webhook-deliveries/{id}" },
  { method: "POST", path: "/api/v1/webhook-deliveries/{id}/retry" },
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  { method: "GET", path: "/docs/" },
  { method: "GET", path: "/healthz" },
  { method: "GET", path: "/readyz" },
  { method: "GET", path: "/metrics" },
];

const INGEST_ENDPOINTS: Endpoint[] = [
  { method: "POST", path: "/webhooks/sms-gate", body: "webhook" },
  // Per-account (ADR 0020): the ids are mostly no account at all, signed with the default key.
  { method: "POST", path: "/webhooks/sms-gate/{id}", body: "webhook" },
  { method: "GET", path: "/healthz" },
  { method: "GET", path: "/readyz" },
  { method: "GET", path: "/metrics" },
];

// Methods Node's parser knows: an unknown one is refused by Node itself, before any app code.
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

const BAD_SEGMENTS = ["%ZZ", "%", "%E0%A4%A", "%00", "%C0%AF", "%FF%FE", "%uD83D", "%ED%A0%80", "%25ZZ", "..", "%2e%2e", "%2F", "null", "-1", "1e400", "'%20OR%201=1--", "%F0%9F%98%80"];

/** A path segment safe for Node's client to send: other bytes are percent-encoded, `%` kept raw. */
const pathSafe = (s: string) => [...Buffer.from(s, "utf8")].map((b) => (b > 0x20 && b < 0x7f && !"#?\"<>`{}|\\^[]".includes(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`)).join("");

const junkSegment = fc.oneof(fc.constantFrom(...BAD_SEGMENTS), hostileString(30).map(pathSafe), fc.constant("x".repeat(2_000)));

const queryValue = (v: unknown) => pathSafe(typeof v === "string" ? v : JSON.stringify(v) ?? "");

function queryArb(known: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<string> {
  const pair = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...Object.keys(known), "limit", "x"), fc.oneof(...Object.values(known), hostileString())) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("a[b][c]", "a[]", "__proto__[role]", "constructor[prototype]", "%ZZ", ""), hostileString()) },
  );
  return fc.array(pair, { maxLength: 6 }).chain((pairs) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(pairs.map(([k, v]) => `${pathSafe(k)}=${queryValue(v)}`).join("&")) },
      { weight: 1, arbitrary: fc.constantFrom("%ZZ", "a=%ZZ", "&&&==", "a=1&a=2&a=3", `${"a=1&".repeat(1_100)}b=2`) },
    ),
  );
}

function pathArb(ep: Endpoint, ids: RealIds): fc.Arbitrary<string> {
  const real = [...ids.messageIds, ids.batchId, ids.spareApiKeyId, ids.webhookEndpointId, ids.webhookDeliveryId].filter((i) => i !== undefined);
  const id = fc.oneof(fc.constantFrom(...real), fc.uuid(), junkSegment);
  const base = ep.path.includes("{id}") ? id.map((i) => ep.path.replace("{id}", i)) : fc.constant(ep.path);
  const mutate = fc.oneof(
    { weight: 12, arbitrary: fc.constant((p: string) => p) },
    { weight: 1, arbitrary: junkSegment.map((s) => (p: string) => `${p}/${s}`) },
    { weight: 1, arbitrary: junkSegment.map((s) => (p: string) => p.replace(/\/[^/]*$/, `/${s}`)) },
    { weight: 1, arbitrary: fc.constantFrom((p: string) => `${p}/`, (p: string) => p.replace("/api/v1", "/API/V1"), (p: string) => `/${p}`, (p: string) => p.replace("/v1/", "/v1//"), (p: string) => p.replace("/v1/", "/v1/../v1/")) },
  );
  const query = fc.option(queryArb(ep.query), { freq: ep.query ? 2 : 6 });
  return fc.tuple(base, mutate, query).map(([p, m, q]) => (q === null ? m(p) : `${m(p)}?${q}`));
}

/** `from`: a sender id (none of the fuzz tenant's, so a 422), a number, or junk. */
const senderRef = fc.oneof(fc.uuid(), phoneish, junk);

const recipient = shaped({ to: phoneish, text: textish(2_000), variables: variablesish, customId: mostly(hostileString(60)) });

/** A recipient list: a handful generated, or hundreds to over the cap, printed by count. */
const recipients: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.array(recipient, { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(200, 1_000, 10_000, 10_001), recipient).map(([n, r]) => manyOf(n, r)) },
  { weight: 1, arbitrary: junk },
);

/** `n` copies of `item`, printed as such in a counterexample instead of n times over. */
function manyOf(n: number, item: unknown): unknown[] {
  const list = Array.from({ length: n }, (_, i) => (item && typeof item === "object" && !Array.isArray(item) ? { ...item, to: `+1415555${String(i % 10_000).padStart(4, "0")}` } : item));
  return Object.assign(list, { [fc.toStringMethod]: () => `[${n} × ${fc.stringify(item)}]` });
}

function shapedBody(shape: BodyShape | undefined, limit: number, ids: RealIds): fc.Arbitrary<unknown> {
  const text = textish(limit);
  // A multi-megabyte password must be refused before any hashing or strength estimate.
  const password = fc.oneof({ weight: 8, arbitrary: mostly(hostileString(80)) }, { weight: 1, arbitrary: hugeString(limit) });
  switch (shape) {
    case "register":
      return shaped({ email: emailish, password, name: mostly(hostileString(80)) });
    case "token":
      return shaped({ email: emailish, password, username: emailish });
    case "apiKey":
      return shaped({ name: text });
    case "message":
      return shaped({ to: phoneish, text, scheduledAt: dateish, validUntil: dateish, priority: bigNumber, customId: mostly(hostileString(80)), from: senderRef });
    case "bulk":
      return shaped({ messages: recipients, text, scheduledAt: dateish, validUntil: dateish, priority: bigNumber, from: senderRef });
    case "webhook":
      return webhookEnvelope(ids, limit);
    case "gatewayAccount":
      // A base URL the api would accept points nowhere: nothing here syncs the accounts it makes.
      return shaped({ name: mostly(hostileString(80)), baseUrl: mostly(fc.oneof(fc.constant("http://127.0.0.1:1/3rdparty/v1"), hostileString(200))), username: mostly(hostileString(80)), password, webhookSigningKey: password, shared: junk, status: mostly(fc.constantFrom("active", "disabled", "bogus")) });
    case "webhookEndpoint":
      // IP literals: judged without DNS whatever the policy, so no lookup waits on the network.
      return shaped({ url: mostly(fc.oneof(fc.constantFrom("https://127.0.0.1:1/hook", "http://8.8.8.8/hook", "https://[::1]/x", "https://u:p@8.8.8.8/"), hostileString(200))), description: text, events: mostly(fc.oneof(fc.array(fc.constantFrom("message.sent", "webhook.test", "bogus", ""), { maxLength: 60 }), junk)), status: mostly(fc.constantFrom("active", "disabled", "bogus")) });
    case "replay":
      return shaped({ since: dateish, until: dateish });
    case "sender":
      return shaped({ label: text, ratePerMinute: bigNumber, dailyCap: bigNumber, monthlyUniqueCap: bigNumber, status: mostly(fc.constantFrom("active", "paused", "retired", "offline", "bogus")), pausedReason: text });
    default:
      return jsonish;
  }
}

const WEBHOOK_EVENTS = ["sms:received", "sms:sent", "sms:delivered", "sms:failed", "system:ping", "sms:data-received", "mms:received", "app:started", ""];

function webhookEnvelope(ids: RealIds, limit: number): fc.Arbitrary<unknown> {
  const payload = shaped({
    messageId: mostly(fc.oneof(fc.constantFrom(...ids.messageIds), fc.uuid())),
    phoneNumber: phoneish,
    sender: phoneish,
    recipient: phoneish,
    message: textish(limit),
    reason: textish(limit),
    partsCount: mostly(fc.oneof(fc.integer({ min: 1, max: 10 }), bigNumber)),
    simNumber: bigNumber,
    sentAt: dateish,
    deliveredAt: dateish,
    failedAt: dateish,
    receivedAt: dateish,
    extra: fc.constantFrom(deep("array", 1_000), deep("array", 50_000), deep("object", 20_000)),
  });
  return shaped({ id: mostly(fc.uuid()), webhookId: mostly(fc.constant("fuzz")), deviceId: mostly(fc.constant("device-1")), event: mostly(fc.constantFrom(...WEBHOOK_EVENTS)), payload: mostly(payload, 8) });
}

function bodyArb(ep: Endpoint, limit: number, ids: RealIds): fc.Arbitrary<BodyRecipe> {
  const json = (a: fc.Arbitrary<unknown>) => a.map((value): BodyRecipe => ({ kind: "json", value }));
  const text = (a: fc.Arbitrary<string>) => a.map((t): BodyRecipe => ({ kind: "text", text: t }));
  const maxDepth = limit > INGEST_BODY_LIMIT ? 5_000 : 50_000;
  return fc.oneof(
    { weight: 20, arbitrary: json(shapedBody(ep.body, limit, ids)) },
    { weight: 3, arbitrary: json(fc.oneof(jsonish, junk, pollutedObject)) },
    { weight: 3, arbitrary: json(fc.constantFrom(100, 1_000, maxDepth).chain((n) => fc.constantFrom(deep("array", n), deep("object", n)))) },
    { weight: 2, arbitrary: json(hugeString(limit)) },
    {
      weight: ep.body === "token" ? 8 : 2,
      arbitrary: fc.record({
        username: hostileString(),
        password: hostileString(),
        fields: fc.constantFrom(0, 10, 998, 1_001, 1_500, 3_000),
        extra: fc.constantFrom("", "%ZZ=1", "a=%ZZ", "a[b][c]=1", "__proto__[role]=admin", "&&==&", "grant_type=password"),
      }).map((f): BodyRecipe => ({ kind: "form", ...f })),
    },
    { weight: 3, arbitrary: text(fc.oneof(fc.constantFrom("", "{", "[", "{\"a\":", "null", "[]", "\"s\"", "{\"to\":1,}", "\u0000", "{'a':1}", "[".repeat(5_000)), hostileString(200))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes): BodyRecipe => ({ kind: "bytes", bytes })) },
    { weight: 2, arbitrary: fc.constant<BodyRecipe>({ kind: "none" }) },
    { weight: 1, arbitrary: fc.constant<BodyRecipe>({ kind: "bomb", inflatedBytes: 2 * limit }) },
  );
}

const CONTENT_TYPES = [
  "application/json; charset=utf-16",
  "application/json; charset=latin1",
  "application/json; charset=bogus",
  "application/merge-patch+json",
  "text/plain",
  "text/json",
  "application/x-www-form-urlencoded; charset=iso-8859-1",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "*/*",
  "application/",
  ";;;",
  "APPLICATION/JSON",
];
const CONTENT_ENCODINGS = ["gzip", "deflate", "br", "identity", "gzip, deflate", "x-gzip", "GZIP", "zstd", "compress", "", "gzip, identity"];
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 60 });

function headersArb(body: BodyRecipe): fc.Arbitrary<Record<string, string>> {
  const natural = body.kind === "form" ? "application/x-www-form-urlencoded" : body.kind === "none" ? null : "application/json";
  const contentType = fc.oneof({ weight: 6, arbitrary: fc.constant(natural) }, { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: fc.constant(null) });
  // A bomb is really gzip; any other body keeps a content-encoding it does not have.
  const encoding = body.kind === "bomb" ? fc.constant("gzip") : fc.option(fc.constantFrom(...CONTENT_ENCODINGS), { freq: 4 });
  return fc
    .record({
      contentType,
      encoding,
      idempotencyKey: fc.option(fc.oneof(headerValue, fc.constant("k".repeat(2_000))), { freq: 3 }),
      requestId: fc.option(headerValue, { freq: 6 }),
      accept: fc.option(fc.constantFrom("application/json", "text/html", "*/*", "application/problem+json", "image/png;q=0"), { freq: 4 }),
    })
    .map(({ contentType: ct, encoding: ce, idempotencyKey, requestId, accept }) => {
      const h: Record<string, string> = {};
      if (ct !== null) h["content-type"] = ct;
      if (ce !== null) h["content-encoding"] = ce;
      if (idempotencyKey !== null) h["idempotency-key"] = idempotencyKey;
      if (requestId !== null) h["x-request-id"] = requestId;
      if (accept !== null) h.accept = accept;
      return h;
    });
}

// Valid credentials most of the time: most of the surface is behind auth.
const authArb: fc.Arbitrary<AuthChoice> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<AuthChoice>("bearer") },
  { weight: 4, arbitrary: fc.constant<AuthChoice>("api-key") },
  { weight: 4, arbitrary: fc.constantFrom(...AUTH_CHOICES) },
);

function requestArb(target: FuzzRequest["target"], endpoints: Endpoint[], ids: RealIds): fc.Arbitrary<FuzzRequest> {
  const limit = target === "api" ? API_BODY_LIMIT : INGEST_BODY_LIMIT;
  return fc.constantFrom(...endpoints).chain((ep) =>
    fc
      .record({
        method: fc.oneof({ weight: 8, arbitrary: fc.constant(ep.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
        path: pathArb(ep, ids),
        auth: target === "api" ? authArb : fc.constantFrom<AuthChoice>("none", "none", "none", "bearer-garbage"),
        body: bodyArb(ep, limit, ids),
        signature: target === "ingest" ? fc.oneof({ weight: 3, arbitrary: fc.constant("valid" as const) }, { weight: 2, arbitrary: fc.constantFrom(...SIGNATURES) }) : fc.constant(undefined),
      })
      .chain((r) => headersArb(r.body).map((headers) => oneLine({ target, ...r, headers, ...(r.signature ? { signature: r.signature } : {}) }))),
  );
}

export const apiRequests = (ids: RealIds) => requestArb("api", API_ENDPOINTS, ids);
export const ingestRequests = (ids: RealIds) => requestArb("ingest", INGEST_ENDPOINTS, ids);
