import { once } from "node:events";
import type { Server } from "node:http";
import { createTestUser, testEnv, uniqueSuffix } from "@inboxerr/testing";
import { closeServer, listen } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import type { User } from "@inboxerr/db";
import { createApp, type CreateAppOptions } from "../app";
import { signAccessToken } from "../auth/jwt";
import type { ApiConfig } from "../config";
import { openResources } from "../resources";

export const TEST_JWT_SECRET = "test-jwt-secret-0123456789-0123456789-abcdef";

/** 32 bytes, base64: lets tests store gateway account secrets (a test may unset it). */
export const TEST_SECRETS_KEY = Buffer.from("test-secrets-key-0123456789abcde").toString("base64");

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;

/**
 * The real app on an ephemeral port, against the run's Postgres and Redis. Each instance gets
 * its own BullMQ prefix under the run's QUEUE_PREFIX (so its queue holds only its own jobs)
 * and its own rate-limit keys.
 */
export async function startTestApi(overrides: { config?: Partial<ApiConfig>; waitForRedis?: boolean } & Partial<Pick<CreateAppOptions, "authRateLimit" | "loginAccountLimit" | "redisTimeoutMs">> = {}) {
  const env = testEnv();
  const config: ApiConfig = {
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    QUEUE_PREFIX: `${env.queuePrefix}:api-${uniqueSuffix()}`,
    JWT_SECRET: TEST_JWT_SECRET,
    JWT_EXPIRES_IN: 3600,
    LOG_LEVEL: "silent",
    LOG_MESSAGE_TEXT: false,
    DEFAULT_PHONE_REGION: "US",
    API_PORT: 0,
    TRUST_PROXY: false,
    SECRETS_KEY: TEST_SECRETS_KEY,
    SMSGATE_URL: "http://127.0.0.1:3002/3rdparty/v1",
    SMSGATE_USERNAME: "inboxerr",
    SMSGATE_PASSWORD: "api-test-gateway-password",
    SMSGATE_TIMEOUT_MS: 10_000,
    SMSGATE_DEVICE_ID: undefined,
    SMSGATE_SIM_NUMBER: undefined,
    // Tests' receivers listen on http://127.0.0.1 (the dev .env.example's policy); the SSRF
    // tests turn these off.
    WEBHOOK_ALLOW_INSECURE: true,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: true,
    ...overrides.config,
  };
  const logger = createLogger({ service: "api-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const resources = openResources(config, logger);
  // Deterministic tests: the producer connection fails fast until it is ready, which would
  // send the first rate-limit hits to the in-memory fallback.
  if (overrides.waitForRedis !== false && resources.redis.status !== "ready") await once(resources.redis, "ready");
  const { app, openapi, close: closeApp } = createApp({
    config,
    logger,
    ...resources,
    authRateLimit: { points: 1_000, ...overrides.authRateLimit },
    ...(overrides.loginAccountLimit ? { loginAccountLimit: overrides.loginAccountLimit } : {}),
    ...(overrides.redisTimeoutMs ? { redisTimeoutMs: overrides.redisTimeoutMs } : {}),
  });
  const { server, port } = await listen(app, 0, "127.0.0.1");
  const base = `http://127.0.0.1:${port}`;

  return {
    base,
    config,
    openapi,
    ...resources,
    /** A fresh tenant and a bearer token for it (no HTTP, no scrypt: fast). */
    async user(role: User["role"] = "user") {
      const user = await createTestUser(resources.db.db, { role });
      return { user, token: signAccessToken(user.id, config.JWT_SECRET, 3600) };
    },
    call: (method: string, path: string, opts: CallOptions = {}) => call(base, method, path, opts),
    async stop() {
      await closeServer(server as Server);
      await closeApp();
      if (resources.redis.status === "ready") await resources.queues.smsSend.obliterate({ force: true }).catch(() => undefined);
      await resources.close();
    },
  };
}

export type CallOptions = {
  token?: string;
  apiKey?: string;
  body?: unknown;
  /** Sent as is (malformed JSON, forms); otherwise `body` is JSON-encoded. */
  raw?: string;
  headers?: Record<string, string>;
};

// Tests assert bodies with expect(); a static shape per endpoint would add nothing there.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CallResult = { status: number; headers: Headers; body: any; ms: number };

async function call(base: string, method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.apiKey) headers["x-api-key"] = opts.apiKey;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const started = performance.now();
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  const ms = performance.now() - started;
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, headers: res.headers, body: type.includes("json") && text ? JSON.parse(text) : text, ms };
}
