import { randomUUID } from "node:crypto";
import { testNumber } from "./env";

export type BulkAnswer = { batchId: string; accepted: number; rejected: unknown[]; messages: { index: number; id: string }[] };

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers },
  signal: AbortSignal.timeout(60_000),
});

async function expectJson<T>(res: Response, status: number, what: string): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what} answered ${res.status}, expected ${status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Registers a fresh user and returns its Authorization header. */
export async function signUp(apiBase: string): Promise<Record<string, string>> {
  const email = `bench-${randomUUID()}@bench.inboxerr.dev`;
  const password = "correct horse battery staple";
  await expectJson(await fetch(`${apiBase}/auth/register`, post({ email, password })), 201, "POST /auth/register");
  const token = await expectJson<{ access_token: string }>(await fetch(`${apiBase}/auth/token`, post({ email, password })), 200, "POST /auth/token");
  return { authorization: `Bearer ${token.access_token}` };
}

/** The body of one bulk send: `count` recipients sharing a one-variable template. */
export function bulkBody(count: number, offset = 0): string {
  const messages = Array.from({ length: count }, (_, i) => ({ to: testNumber(offset + i), variables: { n: offset + i } }));
  return JSON.stringify({ messages, text: "Hello #{{n}} from Inboxerr" });
}

export async function postBulk(apiBase: string, auth: Record<string, string>, body: string): Promise<BulkAnswer> {
  const res = await fetch(`${apiBase}/messages/bulk`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...auth },
    signal: AbortSignal.timeout(120_000),
  });
  return expectJson<BulkAnswer>(res, 202, "POST /messages/bulk");
}

export async function getJson<T>(url: string, auth: Record<string, string> = {}): Promise<T> {
  return expectJson<T>(await fetch(url, { headers: auth, signal: AbortSignal.timeout(30_000) }), 200, `GET ${url}`);
}
