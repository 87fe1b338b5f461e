/**
 * `pnpm seed`: creates (or logs in) a demo user through the running api, makes an API key,
 * and prints both, ready for the README's curl walkthrough. API_URL overrides the address.
 */
const apiUrl = (process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 3000}`) + "/api/v1";
const email = process.env.DEMO_EMAIL ?? "demo@inboxerr.local";
const password = process.env.DEMO_PASSWORD ?? "demo-password-change-me";

async function call(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(apiUrl + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  }).catch((err: Error) => {
    throw new Error(`cannot reach the api at ${apiUrl} (${err.message}); is \`pnpm start\` running?`);
  });
  return { status: res.status, body: ((await res.json().catch(() => null)) ?? {}) as Record<string, string> };
}

async function main(): Promise<void> {
  const reg = await call("/auth/register", { email, password, name: "Demo" });
  if (reg.status !== 201 && reg.status !== 409) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const token = await call("/auth/token", { email, password });
  if (token.status !== 200) throw new Error(`login failed (${token.status}): ${JSON.stringify(token.body)}`);
  const auth = { authorization: `Bearer ${token.body.access_token}` };
  const key = await call("/api-keys", { name: `demo ${new Date().toISOString()}` }, auth);
  if (key.status !== 201) throw new Error(`api key creation failed: ${JSON.stringify(key.body)}`);
  console.log(`user      ${email} (${reg.status === 201 ? "created" : "already existed"})`);
  console.log(`password  ${password}`);
  console.log(`token     ${token.body.access_token}`);
  console.log(`api key   ${key.body.key}`);
  console.log(`\nexport INBOXERR_API_KEY=${key.body.key}`);
}

main().catch((err: Error) => {
  console.error(`seed: ${err.message}`);
  process.exit(1);
});
