import { randomUUID } from "node:crypto";
import { expect } from "vitest";

/** A JSON POST's request options (add auth headers as the second argument). */
export function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } };
}

/** A response's JSON, untyped: the tests assert on its fields. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the fields
export const json = (res: Response): Promise<any> => res.json();

/** Registers a fresh user (`<label>-<uuid>@example.com`) on the api at `api` (…/api/v1) and returns its bearer header. */
export async function registerUser(api: string, label: string): Promise<Record<string, string>> {
  const email = `${label}-${randomUUID()}@example.com`;
  const password = "correct horse battery staple";
  const reg = await fetch(`${api}/auth/register`, post({ email, password }));
  expect(reg.status, await reg.clone().text()).toBe(201);
  const token = await json(await fetch(`${api}/auth/token`, post({ email, password })));
  return { authorization: `Bearer ${token.access_token}` };
}

/** GETs `url` with `headers`, expects a 200, and returns its JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as json
export async function getJson(url: string, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { headers });
  expect(res.status, `${url}: ${await res.clone().text()}`).toBe(200);
  return json(res);
}

/** Stops a system started for a test and drops its database; every service must exit 0 on SIGTERM (its logs explain a failure). */
export async function stopCleanly(system: { stop: () => Promise<Record<string, number | null>>; logs: () => string }, database: { drop: () => Promise<void> }): Promise<void> {
  const exits = await system.stop();
  await database.drop();
  expect(exits, system.logs()).toEqual(Object.fromEntries(Object.keys(exits).map((k) => [k, 0])));
}
