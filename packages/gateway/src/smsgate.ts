import {
  GatewayRequestError,
  type CancelResult,
  type GatewayDriver,
  type MessageStateResult,
  type OutboundSms,
  type RegisteredWebhook,
  type SendResult,
  type WebhookRegistration,
} from "./driver";
import { parseDevices } from "./devices";
import { basicAuth, cleanGatewayText, errorReason, networkReason, parseJsonObject, parseRetryAfter } from "./http";

export type SmsGateDriverOptions = {
  /** Up to and including `/3rdparty/v1` (cloud) or `/api/3rdparty/v1` (private server). */
  baseUrl: string;
  username: string;
  password: string;
  /** SMS Gate enforces id uniqueness per device, so pinning one keeps 409 meaningful. */
  deviceId?: string;
  simNumber?: number;
  /** Bounds every call, body included, so a hung gateway never stalls a worker slot. */
  timeoutMs: number;
  /** Injected in tests; Node's global fetch (undici, keep-alive) otherwise. */
  fetch?: typeof fetch;
};

type Answer = { status: number; headers: Headers; body: string };

/** The SMSGATE_* settings as `@inboxerr/config` parses them. */
export type SmsGateSettings = {
  SMSGATE_URL: string;
  SMSGATE_USERNAME: string;
  SMSGATE_PASSWORD: string;
  SMSGATE_TIMEOUT_MS: number;
  SMSGATE_DEVICE_ID?: string | undefined;
  SMSGATE_SIM_NUMBER?: number | undefined;
};

/** The driver every process builds from its config: sender, ingest registration, the CLI. */
export function smsGateDriverFromSettings(settings: SmsGateSettings): GatewayDriver {
  return createSmsGateDriver({
    baseUrl: settings.SMSGATE_URL,
    username: settings.SMSGATE_USERNAME,
    password: settings.SMSGATE_PASSWORD,
    timeoutMs: settings.SMSGATE_TIMEOUT_MS,
    ...(settings.SMSGATE_DEVICE_ID ? { deviceId: settings.SMSGATE_DEVICE_ID } : {}),
    ...(settings.SMSGATE_SIM_NUMBER ? { simNumber: settings.SMSGATE_SIM_NUMBER } : {}),
  });
}

/** A GatewayDriver speaking the SMS Gate ("SMS Gateway for Android") 3rd-party API. */
export function createSmsGateDriver(opts: SmsGateDriverOptions): GatewayDriver {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;
  const authorization = basicAuth(opts.username, opts.password);

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const res = await doFetch(`${baseUrl}${path}`, {
      method,
      signal,
      headers: {
        authorization,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // Reading the body to the end also frees the keep-alive connection for reuse.
    // A body cut off by the timeout still leaves a valid status: a 202 stays accepted.
    const text = await res.text().catch(() => "");
    return { status: res.status, headers: res.headers, body: text };
  }

  async function send(msg: OutboundSms): Promise<SendResult> {
    const deviceId = msg.deviceId ?? opts.deviceId;
    const simNumber = msg.simNumber ?? opts.simNumber;
    const payload = {
      id: msg.id,
      textMessage: { text: msg.text },
      phoneNumbers: [msg.to],
      ...(deviceId ? { deviceId } : {}),
      ...(simNumber !== undefined ? { simNumber } : {}),
      withDeliveryReport: true,
      ...(msg.priority !== undefined ? { priority: msg.priority } : {}),
      ...(msg.validUntil ? { validUntil: msg.validUntil.toISOString() } : {}),
    };
    let answer: Answer;
    try {
      answer = await call("POST", "/messages", payload);
    } catch (err) {
      return { kind: "transient", reason: networkReason(err, opts.timeoutMs), status: null };
    }
    return classifySend(answer);
  }

  async function manage(method: string, path: string, body?: unknown): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await call(method, path, body);
    } catch (err) {
      throw new GatewayRequestError(`SMS Gate ${method} ${path}: ${networkReason(err, opts.timeoutMs)}`, null);
    }
    if (answer.status < 200 || answer.status > 299) {
      const reason = errorReason(answer.status, answer.body);
      throw new GatewayRequestError(`SMS Gate ${method} ${path} answered ${answer.status}: ${reason}`, answer.status);
    }
    return answer;
  }

  async function cancel(id: string): Promise<CancelResult> {
    let answer: Answer;
    try {
      answer = await call("DELETE", `/messages/${encodeURIComponent(id)}`);
    } catch (err) {
      return { kind: "unknown", reason: networkReason(err, opts.timeoutMs), status: null };
    }
    const { status, body } = answer;
    // Only these two speak about the message; a refusal (401/403/429, a wrong URL) or a 5xx
    // proves nothing about it.
    if (status === 404 || status === 409) return { kind: "not_cancelled", state: null, reason: errorReason(status, body), status };
    if (status < 200 || status > 299) return { kind: "unknown", reason: errorReason(status, body), status };
    const state = parseJsonObject(body)?.state;
    if (state === "Cancelled") return { kind: "cancelled", status };
    const said = typeof state === "string" ? state : null;
    return { kind: "not_cancelled", state: said, reason: `the gateway answered ${said ?? "no state"}, not Cancelled`, status };
  }

  async function messageState(id: string): Promise<MessageStateResult> {
    let answer: Answer;
    try {
      answer = await call("GET", `/messages/${encodeURIComponent(id)}`);
    } catch (err) {
      return { kind: "unknown", reason: networkReason(err, opts.timeoutMs), status: null };
    }
    const { status, body } = answer;
    if (status === 404) return { kind: "not_found" };
    if (status < 200 || status > 299) return { kind: "unknown", reason: errorReason(status, body), status };
    const state = parseJsonObject(body)?.state;
    if (typeof state !== "string" || state === "") return { kind: "unknown", reason: "the gateway answered without a state", status };
    return { kind: "state", state: cleanGatewayText(state, 100) };
  }

  return {
    send,
    cancel,
    messageState,
    async registerWebhook(webhook: WebhookRegistration) {
      const answer = await manage("POST", "/webhooks", {
        ...(webhook.id ? { id: webhook.id } : {}),
        url: webhook.url,
        event: webhook.event,
        ...(webhook.deviceId ? { deviceId: webhook.deviceId } : {}),
      });
      const registered = toWebhook(parseJsonObject(answer.body));
      if (!registered) {
        throw new GatewayRequestError("SMS Gate POST /webhooks answered without a webhook id", answer.status);
      }
      return registered;
    },
    async listWebhooks() {
      const answer = await manage("GET", "/webhooks");
      let items: unknown;
      try {
        items = JSON.parse(answer.body);
      } catch {
        items = null;
      }
      if (!Array.isArray(items)) {
        throw new GatewayRequestError("SMS Gate GET /webhooks answered with a non-list body", answer.status);
      }
      return items.flatMap((item: unknown) => {
        const hook = toWebhook(item && typeof item === "object" ? (item as Record<string, unknown>) : null);
        return hook ? [hook] : [];
      });
    },
    async listDevices() {
      const answer = await manage("GET", "/devices");
      const devices = parseDevices(answer.body);
      if (!devices) throw new GatewayRequestError("SMS Gate GET /devices answered with a non-list body", answer.status);
      return devices;
    },
    async deleteWebhook(id: string) {
      try {
        await manage("DELETE", `/webhooks/${encodeURIComponent(id)}`);
      } catch (err) {
        // Deleting what is already gone is the outcome the caller wanted.
        if (err instanceof GatewayRequestError && err.status === 404) return;
        throw err;
      }
    },
  };
}

function classifySend(answer: Answer): SendResult {
  const { status, headers, body } = answer;
  if (status >= 200 && status <= 299) {
    const state = parseJsonObject(body)?.state;
    return { kind: "accepted", state: typeof state === "string" ? cleanGatewayText(state, 100) : null, duplicate: false, status };
  }
  // Invariant 2: a retry after a crash finds its own earlier request already accepted.
  if (status === 409) return { kind: "accepted", state: null, duplicate: true, status };
  const reason = errorReason(status, body);
  const retryAfterMs = parseRetryAfter(headers.get("retry-after"));
  if (status === 429) return { kind: "throttled", retryAfterMs, reason, status };
  if (status === 503 && parseJsonObject(body)?.error === "QueueLimitExceeded") {
    return { kind: "throttled", retryAfterMs, reason, status };
  }
  // 408 is the server giving up on a slow request: nothing wrong with the message itself.
  if (status === 408) return { kind: "transient", reason, status };
  // Bad credentials are the operator's to fix, not the message's fault: failing every message
  // in flight would lose them. Throttling pauses the whole queue (every send would get the
  // same answer) until the config is fixed; validUntil still bounds each message.
  if (status === 401 || status === 403) {
    return { kind: "throttled", retryAfterMs: retryAfterMs ?? 30_000, reason: `gateway refused our credentials: ${reason}`, status };
  }
  // Same for a wrong SMSGATE_URL path: POST /messages exists on every SMS Gate server, so a 404
  // or 405 says the base URL is wrong, not that this message is.
  if (status === 404 || status === 405) {
    return { kind: "throttled", retryAfterMs: retryAfterMs ?? 30_000, reason: `gateway URL not found — check SMSGATE_URL (HTTP ${status}: ${reason})`, status };
  }
  if (status >= 400 && status <= 499) return { kind: "permanent", reason, status };
  return { kind: "transient", reason, status };
}

function toWebhook(obj: Record<string, unknown> | null): RegisteredWebhook | null {
  if (!obj || typeof obj.id !== "string" || obj.id === "") return null;
  const text = (v: unknown) => (typeof v === "string" ? cleanGatewayText(v) : null);
  return { id: cleanGatewayText(obj.id), url: text(obj.url) ?? "", event: text(obj.event) ?? "", deviceId: text(obj.deviceId) };
}
