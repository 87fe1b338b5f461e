import { randomUUID } from "node:crypto";
import { deep, repeat, type BodyRecipe } from "./bodies";
import type { RealIds } from "./requests";
import type { FuzzRequest, SignatureChoice } from "./send";

/**
 * Issue #13's reproducers, as fixed cases run through the same sender and checks as the
 * generated ones. `expect` narrows the answer where the issue says what it must be.
 */
export type Reproducer = {
  name: string;
  expect: "4xx" | "2xx" | 401 | "not 5xx";
  build: (ids: RealIds) => FuzzRequest;
};

const TO = "+14155552671";
const json = (value: unknown): BodyRecipe => ({ kind: "json", value });
const api = (method: string, path: string, body: BodyRecipe, headers: Record<string, string> = {}): FuzzRequest => ({
  target: "api",
  method,
  path,
  auth: "bearer",
  headers: body.kind === "json" ? { "content-type": "application/json", ...headers } : headers,
  body,
});
const webhook = (value: unknown, signature: SignatureChoice = "valid", headers: Record<string, string> = {}): FuzzRequest => ({
  target: "ingest",
  method: "POST",
  path: "/webhooks/sms-gate",
  auth: "none",
  headers: { "content-type": "application/json", ...headers },
  body: json(value),
  signature,
});
const envelope = (event: string, payload: Record<string, unknown>) => ({ id: randomUUID(), webhookId: "fuzz", deviceId: "device-1", event, payload });
const recipients = (n: number) => Array.from({ length: n }, (_, i) => ({ to: `+1415555${String(i).padStart(4, "0")}`, variables: { a: "1" } }));
const now = () => new Date().toISOString();

// Every POST of the api. Cancel takes no body: refusing it, or ignoring it, are both fine.
const POSTS: Array<{ path: (ids: RealIds) => string; body: unknown; expect?: Reproducer["expect"] }> = [
  { path: () => "/api/v1/auth/register", body: { email: `gz-${randomUUID()}@example.com`, password: "a long enough passphrase" } },
  { path: () => "/api/v1/auth/token", body: { email: "nobody@example.com", password: "whatever-it-is" } },
  { path: () => "/api/v1/api-keys", body: { name: "gzip" } },
  { path: () => "/api/v1/messages", body: { to: TO, text: "hi" } },
  { path: () => "/api/v1/messages/bulk", body: { text: "hi", messages: [{ to: TO }] } },
  { path: (ids) => `/api/v1/messages/${ids.messageIds[0]}/cancel`, body: {}, expect: "not 5xx" },
];
const ENCODINGS = ["gzip", "deflate", "br"];

export const REPRODUCERS: Reproducer[] = [
  {
    name: "a 4 MB shared template with one {{a}} and 200 recipients",
    expect: "4xx",
    build: () => api("POST", "/api/v1/messages/bulk", json({ text: repeat("x", 4_000_000, "tpl"), messages: recipients(200) })),
  },
  {
    name: "100,000 placeholders in a shared template, 200 recipients",
    expect: "4xx",
    build: () => api("POST", "/api/v1/messages/bulk", json({ text: repeat("tpl", 100_000), messages: recipients(200) })),
  },
  { name: "GET /api/v1/batches/%ZZ without credentials", expect: "4xx", build: () => ({ ...api("GET", "/api/v1/batches/%ZZ", { kind: "none" }), auth: "none" }) },
  ...POSTS.flatMap(({ path, body, expect = "4xx" }) =>
    ENCODINGS.map(
      (encoding): Reproducer => ({
        name: `content-encoding: ${encoding} on an uncompressed POST ${path({ messageIds: [":id"], batchId: "", spareApiKeyId: "" })}`,
        expect,
        build: (ids) => api("POST", path(ids), json(body), { "content-encoding": encoding }),
      }),
    ),
  ),
  ...ENCODINGS.flatMap((encoding) =>
    (["none", "valid"] as const).map(
      (signature): Reproducer => ({
        name: `content-encoding: ${encoding} on an uncompressed webhook, ${signature === "valid" ? "signed" : "unsigned"}`,
        expect: "not 5xx",
        build: () => webhook(envelope("system:ping", {}), signature, { "content-encoding": encoding }),
      }),
    ),
  ),
  ...[1_001, 1_500].map(
    (fields): Reproducer => ({
      name: `${fields.toLocaleString("en")} form fields on /auth/token`,
      expect: "4xx",
      build: () => ({ ...api("POST", "/api/v1/auth/token", { kind: "form", username: "a@example.com", password: "password", fields, extra: "" }), auth: "none" }),
    }),
  ),
  {
    name: "5,000 levels of JSON nesting in an idempotent POST /messages",
    expect: "not 5xx",
    build: () => api("POST", "/api/v1/messages", json({ to: TO, text: "hi", nested: deep("array", 5_000) }), { "idempotency-key": `deep-${randomUUID()}` }),
  },
  {
    name: "5,000 levels of JSON nesting as the text of an idempotent POST /messages",
    expect: "4xx",
    build: () => api("POST", "/api/v1/messages", json({ to: TO, text: deep("object", 5_000) }), { "idempotency-key": `deep-${randomUUID()}` }),
  },
  {
    name: "a signed webhook nested 50,000 deep",
    expect: "not 5xx",
    build: (ids) => webhook(envelope("sms:delivered", { messageId: ids.messageIds[1], deliveredAt: now(), nested: deep("array", 50_000) })),
  },
  {
    name: "an inbound SMS whose text holds a lone surrogate",
    expect: "2xx",
    build: () => webhook(envelope("sms:received", { message: "hi \ud83d there", phoneNumber: "+447700900123", receivedAt: now() })),
  },
  {
    name: "an inbound SMS whose sender holds a lone surrogate",
    expect: "2xx",
    build: () => webhook(envelope("sms:received", { message: "hello", phoneNumber: "+4477009\udc00123", receivedAt: now() })),
  },
  {
    name: "sms:sent with partsCount 2^31",
    expect: "2xx",
    build: (ids) => webhook(envelope("sms:sent", { messageId: ids.messageIds[2], recipient: TO, sentAt: now(), partsCount: 2 ** 31 })),
  },
  {
    name: "sms:sent with partsCount 2^53 + 2",
    expect: "2xx",
    build: (ids) => webhook(envelope("sms:sent", { messageId: ids.messageIds[3], recipient: TO, sentAt: now(), partsCount: 2 ** 53 + 2 })),
  },
  {
    name: "sms:sent timestamped in the year 200000",
    expect: "2xx",
    build: (ids) => webhook(envelope("sms:sent", { messageId: ids.messageIds[4], recipient: TO, sentAt: "+200000-01-01T00:00:00Z" })),
  },
  {
    name: "sms:delivered timestamped in the year 200000",
    expect: "2xx",
    build: (ids) => webhook(envelope("sms:delivered", { messageId: ids.messageIds[5], recipient: TO, deliveredAt: "+200000-01-01T00:00:00.000+07:00" })),
  },
  {
    name: "sms:received timestamped in the year 200000",
    expect: "2xx",
    build: () => webhook(envelope("sms:received", { message: "from the future", phoneNumber: "+447700900123", receivedAt: "+200000-01-01T00:00:00Z" })),
  },
  { name: "a bearer JWT without exp", expect: 401, build: () => ({ ...api("GET", "/api/v1/auth/me", { kind: "none" }), auth: "jwt-without-exp" }) },
  { name: "a bearer JWT whose sub is not a uuid", expect: 401, build: () => ({ ...api("GET", "/api/v1/auth/me", { kind: "none" }), auth: "jwt-sub-not-uuid" }) },
];
