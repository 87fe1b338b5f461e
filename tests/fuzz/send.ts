import { Agent, request } from "node:http";
import fc from "fast-check";
import { signWebhook } from "@inboxerr/gateway";
import { authHeaders, type AuthChoice, type Tenant } from "./auth";
import { bodyBytes, type BodyRecipe } from "./bodies";

/** How an ingest request is signed: as the gateway does, or one way of getting it wrong. */
export const SIGNATURES = ["valid", "none", "no-timestamp", "stale", "future", "malformed", "wrong-key", "timestamp-not-seconds", "timestamp-huge"] as const;
export type SignatureChoice = (typeof SIGNATURES)[number];

export type FuzzRequest = {
  target: "api" | "ingest";
  method: string;
  /** Path and query exactly as sent on the request line (bad percent-encodings included). */
  path: string;
  headers: Record<string, string>;
  auth: AuthChoice;
  body: BodyRecipe;
  /** Ingest only: signed over the exact bytes sent, as packages/gateway signs them. */
  signature?: SignatureChoice;
};

export type Targets = { api: string; ingest: string; tenant: Tenant; signingKey: string };

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; ms: number };

// Our own pool: the probe's connections live in another thread, and a fuzzed request that
// leaves a socket in a bad state must not take a healthy one with it.
const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function signatureHeaders(choice: SignatureChoice, raw: Buffer, key: string): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  const signed = (ts: string, k = key) => ({ "x-signature": signWebhook(k, raw, ts), "x-timestamp": ts });
  switch (choice) {
    case "valid":
      return signed(String(now));
    case "none":
      return {};
    case "no-timestamp":
      return { "x-signature": signed(String(now))["x-signature"] };
    case "stale":
      return signed(String(now - 3_600));
    case "future":
      return signed(String(now + 3_600));
    case "malformed":
      return { "x-signature": "zz".repeat(32), "x-timestamp": String(now) };
    case "wrong-key":
      return signed(String(now), "not-the-signing-key");
    case "timestamp-not-seconds":
      return signed(`${now}.5`);
    case "timestamp-huge":
      return signed("999999999999");
  }
}

/** The request as it goes on the wire: auth and signature resolved, body built. */
function materialize(req: FuzzRequest, t: Targets): { url: string; headers: Record<string, string>; body: Buffer | undefined } {
  const body = bodyBytes(req.body);
  const headers = { ...req.headers, ...authHeaders(req.auth, t.tenant) };
  if (req.target === "ingest" && req.signature) Object.assign(headers, signatureHeaders(req.signature, body ?? Buffer.alloc(0), t.signingKey));
  return { url: (req.target === "api" ? t.api : t.ingest) + req.path, headers, body };
}

/**
 * Sends over node:http rather than fetch: fetch refuses a body on GET and normalises paths,
 * and both are things a client can do to the service.
 */
function send(wire: ReturnType<typeof materialize>, method: string, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...wire.headers };
    if (wire.body) headers["content-length"] = wire.body.length;
    const req = request(wire.url, { method, headers, agent, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(wire.body);
  });
}

/** Why an answer breaks the contract (invariant 6, docs/architecture.md), or null when it keeps it. */
function contractBreach(method: string, a: Answer): string | null {
  if (a.status >= 500) return `answered ${a.status}`;
  if (a.status < 400) return null;
  const type = String(a.headers["content-type"] ?? "");
  if (!type.startsWith("application/problem+json")) return `answered ${a.status} as "${type}", not application/problem+json`;
  if (method === "HEAD") return null;
  let problem: { status?: unknown };
  try {
    problem = JSON.parse(a.body.toString("utf8"));
  } catch {
    return `answered ${a.status} with a problem+json body that does not parse`;
  }
  return problem.status === a.status ? null : `answered ${a.status} but the problem says status ${String(problem.status)}`;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** The request that caused a failure, enough to replay it by hand. */
function describeRequest(req: FuzzRequest, wire: ReturnType<typeof materialize>): string {
  const headers = Object.entries(wire.headers).map(([k, v]) => `    ${k}: ${clip(v, 120)}`);
  const body = wire.body ? `${wire.body.length} bytes: ${clip(JSON.stringify(wire.body.subarray(0, 400).toString("latin1")), 300)}` : "none";
  const recipe = req.body.kind === "bytes" ? `bytes(${req.body.bytes.length})` : clip(JSON.stringify(req.body), 300);
  return [`${req.method} ${clip(wire.url, 400)}`, `  auth: ${req.auth}${req.signature ? `, signature: ${req.signature}` : ""}`, "  headers:", ...headers, `  body: ${body}`, `  body recipe: ${recipe}`].join("\n");
}

/** Gives a request a one-line form for fast-check's counterexample (the failure has the full one). */
export function oneLine(req: FuzzRequest): FuzzRequest {
  const text = () => `${req.method} ${clip(req.path, 80)} auth=${req.auth}${req.signature ? ` signature=${req.signature}` : ""} ${clip(JSON.stringify(req.headers), 120)} body=${req.body.kind === "bytes" ? `bytes(${req.body.bytes.length})` : clip(JSON.stringify(req.body), 160)}`;
  return Object.defineProperty(req, fc.toStringMethod, { value: text, enumerable: false });
}

export type Outcome = {
  request: FuzzRequest;
  description: string;
  answer?: Answer;
  breach: string | null;
  /** Epoch ms, to match a late /healthz probe with the requests in flight at the time. */
  startedAt: number;
  endedAt: number;
  bytes: number;
};

/** Sends one request and judges the answer; no answer at all is a breach too. */
export async function exercise(req: FuzzRequest, t: Targets, timeoutMs = 15_000): Promise<Outcome> {
  const startedAt = Date.now();
  const wire = materialize(req, t);
  const description = describeRequest(req, wire);
  const timing = () => ({ startedAt, endedAt: Date.now(), bytes: wire.body?.length ?? 0 });
  try {
    const answer = await send(wire, req.method, timeoutMs);
    const breach = contractBreach(req.method, answer);
    const detail = breach && answer.status >= 400 ? `\n  answer body: ${clip(answer.body.toString("utf8"), 300)}` : "";
    return { request: req, description, answer, breach: breach && breach + detail, ...timing() };
  } catch (err) {
    return { request: req, description, breach: `no answer: ${(err as Error).message}`, ...timing() };
  }
}
