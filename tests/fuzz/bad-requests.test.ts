/**
 * Issue #13: no request may crash or freeze a service. Thousands of generated bad requests
 * over real HTTP to every endpoint of the api and webhook-ingest (both apps on this thread,
 * on the run's Postgres and Redis; the client in a worker thread) must each get an answer
 * below 500, a 4xx being problem+json with its status in the body. Meanwhile a probe in its
 * own thread hits /healthz of both apps back to back: every answer must come within 200 ms
 * of what a control server saw at the same moment (healthz-probe.ts). The issue's
 * reproducers run first as fixed cases. Replay a run with FUZZ_SEED=<seed> (fast-check prints
 * it); set FUZZ_KEEP_GOING=1 to list every breach of a run instead of stopping at the first.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inboundMessages } from "@inboxerr/db";
import { startTestApi, TEST_JWT_SECRET, type TestApi } from "@inboxerr/api/testing";
import { SIGNING_KEY, startIngest, type Harness } from "@inboxerr/webhook-ingest/testing";
import { runFuzzInWorker, type Sent } from "./fuzz-run";
import { describeWindow, startHealthzProbe, type HealthzProbe } from "./healthz-probe";
import { REPRODUCERS, type Reproducer } from "./reproducers";
import { API_ENDPOINTS, type RealIds } from "./requests";
import { exercise, type FuzzRequest, type Outcome, type Targets } from "./send";

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_613);
const KEEP_GOING = process.env.FUZZ_KEEP_GOING === "1";
/** Requests in flight at once; runs × this = requests per endpoint family. */
const CONCURRENCY = 8;
const API_RUNS = 250;
const INGEST_RUNS = 125;
/** Issue #13: /healthz answers within 200 ms throughout. */
const HEALTHZ_BOUND_MS = 200;

let api: TestApi;
let ingest: Harness;
let probe: HealthzProbe;
let targets: Targets;
let ids: RealIds;

beforeAll(async () => {
  [api, ingest] = await Promise.all([startTestApi(), startIngest()]);
  const { user, token } = await api.user();
  const key = await api.call("POST", "/api/v1/api-keys", { token, body: { name: "fuzz" } });
  const spare = await api.call("POST", "/api/v1/api-keys", { token, body: { name: "fuzz-spare" } });
  const bulk = await api.call("POST", "/api/v1/messages/bulk", { token, body: { text: "fuzz {{n}}", messages: Array.from({ length: 10 }, (_, n) => ({ to: `+1415555267${n}`, variables: { n } })) } });
  const endpoint = await api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: "https://8.8.8.8/fuzz" } });
  const test = await api.call("POST", `/api/v1/webhook-endpoints/${endpoint.body.id}/test`, { token });
  expect([key.status, spare.status, bulk.status, endpoint.status, test.status]).toEqual([201, 201, 202, 201, 202]);
  ids = {
    messageIds: bulk.body.messages.map((m: { id: string }) => m.id),
    batchId: bulk.body.batchId,
    spareApiKeyId: spare.body.id,
    webhookEndpointId: endpoint.body.id,
    webhookDeliveryId: test.body.deliveryId,
  };
  targets = { api: api.base, ingest: new URL(ingest.url).origin, tenant: { userId: user.id, token, apiKey: key.body.key, jwtSecret: TEST_JWT_SECRET }, signingKey: SIGNING_KEY };
  probe = startHealthzProbe({ api: targets.api, ingest: targets.ingest }, { boundMs: HEALTHZ_BOUND_MS });
  // The probe's first requests open connections and warm code paths: not part of any test.
  await probe.since(probe.mark());
});

afterAll(async () => {
  await probe?.stop();
  await Promise.all([api?.stop(), ingest?.close()]);
});

/**
 * Soft, so a test that also got a bad answer reports both. `sent` names the requests in
 * flight during the worst probe, biggest first: the likely cause of a stalled loop.
 */
async function expectHealthzFastSince(since: number, sent: Sent[] = []): Promise<void> {
  const window = await probe.since(since);
  expect.soft(window.count, "the /healthz probe never answered").toBeGreaterThan(0);
  const worst = window.worst;
  const suspects = worst
    ? sent
        .filter((o) => o.startedAt <= worst.endedAt && o.endedAt >= worst.startedAt)
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 5)
        .map((o) => `  ${o.endedAt - o.startedAt} ms, ${o.bytes} bytes: ${o.line}`)
    : [];
  const inFlight = suspects.length ? `\nin flight during the worst probe:\n${suspects.join("\n")}` : "";
  expect.soft(window.late.length, `/healthz over ${HEALTHZ_BOUND_MS} ms: ${describeWindow(window)}${inFlight}`).toBe(0);
}

function expectAnswer(r: Reproducer, out: Outcome): void {
  const status = out.answer?.status ?? 0;
  const message = `${out.breach ?? `answered ${status}`}\n${out.description}`;
  expect(out.breach, message).toBeNull();
  if (r.expect === "4xx") expect(status >= 400 && status < 500, message).toBe(true);
  if (r.expect === "2xx") expect(status >= 200 && status < 300, message).toBe(true);
  if (typeof r.expect === "number") expect(status, message).toBe(r.expect);
}

describe("issue #13 reproducers", () => {
  it.for(REPRODUCERS)("answers $name without a 5xx or a frozen /healthz", { timeout: 90_000 }, async (r) => {
    const since = probe.mark();
    const request = r.build(ids);
    const out = await exercise(request, targets);
    await expectHealthzFastSince(since);
    expectAnswer(r, out);
    if (request.target === "ingest" && r.name.includes("lone surrogate")) await expectStoredWellFormed(request);
  });
});

/** A broken character is replaced, not refused: the reply must be kept (issue #13). */
async function expectStoredWellFormed(request: FuzzRequest): Promise<void> {
  const envelopeId = (request.body as { value: { id: string } }).value.id;
  const [row] = await ingest.database.db.select().from(inboundMessages).where(eq(inboundMessages.envelopeId, envelopeId));
  expect(row, `no inbound message stored for envelope ${envelopeId}`).toBeDefined();
  expect(row!.text.isWellFormed() && row!.fromNumber.isWellFormed(), JSON.stringify(row)).toBe(true);
}

describe("generated bad requests", () => {
  it("fuzzes every operation the api documents in /openapi.json", () => {
    const documented = Object.entries(api.openapi.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const fuzzed = new Set(API_ENDPOINTS.map((e) => `${e.method} ${e.path}`));
    expect(documented.filter((op) => !fuzzed.has(op))).toEqual([]);
  });

  it(`answers ${API_RUNS * CONCURRENCY} requests to the api below 500, 4xx as problem+json, /healthz within ${HEALTHZ_BOUND_MS} ms`, { timeout: 180_000 }, async () => {
    const since = probe.mark();
    const { failure, sent } = await runFuzzInWorker({ family: "api", ids, targets, seed: SEED, numRuns: API_RUNS, concurrency: CONCURRENCY, keepGoing: KEEP_GOING });
    await expectHealthzFastSince(since, sent);
    if (failure) throw new Error(failure);
  });

  it(`answers ${INGEST_RUNS * CONCURRENCY} requests to webhook-ingest below 500, 4xx as problem+json, /healthz within ${HEALTHZ_BOUND_MS} ms`, { timeout: 180_000 }, async () => {
    const since = probe.mark();
    const { failure, sent } = await runFuzzInWorker({ family: "ingest", ids, targets, seed: SEED, numRuns: INGEST_RUNS, concurrency: CONCURRENCY, keepGoing: KEEP_GOING });
    await expectHealthzFastSince(since, sent);
    if (failure) throw new Error(failure);
  });
});
