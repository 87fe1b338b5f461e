import { Agent, request } from "undici";
import { checkUrlShape, guardedLookup, signedHeaders, UnsafeTargetError, type TargetPolicy } from "@inboxerr/webhooks";

/** The first this many bytes of an answer are kept (webhook_delivery_attempts.response). */
const RESPONSE_PREFIX_BYTES = 1024;

type AttemptRequest = {
  /** The delivery id: the `webhook-id` header, the same on every attempt. */
  id: string;
  url: string;
  /** The stored payload's text, sent as is. */
  body: string;
  /** Every secret valid now: the current one, and the one before a rotation for 24 h. */
  secrets: readonly string[];
};

export type AttemptResult = {
  /** The answer's status; null when none came (refused, timed out, unsafe target). */
  statusCode: number | null;
  error: string | null;
  response: string | null;
  /** The target was refused by the SSRF policy before any byte was sent to it. */
  unsafe: boolean;
  durationMs: number;
};

export type WebhookHttp = {
  send: (req: AttemptRequest) => Promise<AttemptResult>;
  /** Waits for requests in flight, then closes every connection. */
  close: () => Promise<void>;
  /** Aborts requests in flight and closes every connection. */
  destroy: () => Promise<void>;
};

/**
 * One keep-alive connection pool for every endpoint. Its connect.lookup is guardedLookup, so
 * the address a connection is made to is the address the SSRF policy approved (no rebinding
 * between a check and the connect); IP-literal hosts never reach a lookup, so checkUrlShape
 * checks them before each attempt. undici's request follows no redirect (that is an
 * interceptor we do not add): a 3xx is an answer like any other non-2xx, a failure.
 */
export function createWebhookHttp(opts: { timeoutMs: number; policy: TargetPolicy }): WebhookHttp {
  const agent = new Agent({
    connect: { lookup: guardedLookup(opts.policy), timeout: opts.timeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
    // No per-origin connection cap: endpoints of many customers can share a host (one SaaS's
    // hook URLs), and a cap per origin would let one hanging endpoint queue the others behind
    // it. The engine's slots bound what is in flight, per endpoint and in all.
  });

  async function send(req: AttemptRequest): Promise<AttemptResult> {
    const started = performance.now();
    const done = (r: Omit<AttemptResult, "durationMs">): AttemptResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
    try {
      checkUrlShape(req.url, opts.policy);
    } catch (err) {
      if (err instanceof UnsafeTargetError) return done({ statusCode: null, error: `unsafe target: ${err.message}`, response: null, unsafe: true });
      throw err;
    }
    const headers = {
      ...signedHeaders(req.secrets, req.id, Math.floor(Date.now() / 1000), req.body),
      "content-type": "application/json",
      "user-agent": "Inboxerr-Webhooks/1",
    };
    // The whole attempt, body read included, is bounded: a server trickling bytes holds a slot no longer.
    const signal = AbortSignal.timeout(opts.timeoutMs);
    let statusCode: number | null = null;
    try {
      const res = await request(req.url, { method: "POST", headers, body: req.body, dispatcher: agent, signal });
      statusCode = res.statusCode;
      const response = await readPrefix(res.body);
      return done({ statusCode, error: null, response, unsafe: false });
    } catch (err) {
      const unsafe = unsafeCause(err);
      if (unsafe) return done({ statusCode: null, error: `unsafe target: ${unsafe.message}`, response: null, unsafe: true });
      const message = signal.aborted ? `timed out after ${opts.timeoutMs} ms` : describe(err);
      // A status came but its body failed: the status decides the outcome, the error is kept.
      return done({ statusCode, error: statusCode === null ? message : `reading the answer: ${message}`, response: null, unsafe: false });
    }
  }

  return { send, close: () => agent.close(), destroy: () => agent.destroy() };
}

/** The first RESPONSE_PREFIX_BYTES of a body as text; the rest is never read (the stream is destroyed). */
async function readPrefix(body: AsyncIterable<Buffer> & { destroy: () => unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= RESPONSE_PREFIX_BYTES) break;
    }
  } finally {
    body.destroy();
  }
  // Postgres text cannot hold NUL.
  return Buffer.concat(chunks).subarray(0, RESPONSE_PREFIX_BYTES).toString("utf8").replaceAll("\0", "");
}

function unsafeCause(err: unknown): UnsafeTargetError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UnsafeTargetError) return e;
  }
  return undefined;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const cause = (err as { cause?: unknown }).cause;
  const causeText = cause instanceof Error && cause.message !== err.message ? ` (${cause.message})` : "";
  return `${code ? `${code}: ` : ""}${err.message}${causeText}`.slice(0, 500);
}
