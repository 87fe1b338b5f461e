import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type { Request } from "autocannon";

/** SMS Gate's signature: hex HMAC-SHA256 over the raw body followed by X-Timestamp (as @inboxerr/gateway signs). */
const sign = (key: string, body: string, timestamp: string): string =>
  createHmac("sha256", key).update(body).update(timestamp, "utf8").digest("hex");

export type WebhookSource = {
  /** autocannon's per-request hook: the next envelope, signed afresh. */
  setupRequest: (req: Request) => Request;
  /** Envelopes built so far. */
  built(): number;
  /** Envelopes about messages beyond the pool (unknown ids, acknowledged but changing nothing). */
  overflow(): number;
};

/**
 * Webhooks as the phone sends them: for message i of `messageIds`, envelope 2i is its
 * `sms:sent` (one part) and 2i+1 its `sms:delivered`, each with a unique envelope id, so
 * every request is a real transition that ingest must apply, never a duplicate.
 */
export function webhookSource(opts: { path: string; messageIds: readonly string[]; signingKey: string; deviceId: string }): WebhookSource {
  const run = randomBytes(4).toString("hex");
  let k = 0;
  let overflow = 0;
  return {
    setupRequest(req) {
      const i = k >> 1;
      const sent = (k & 1) === 0;
      const id = `bench${run}${(k++).toString(36)}`;
      let messageId = opts.messageIds[i];
      if (messageId === undefined) {
        overflow += 1;
        messageId = randomUUID();
      }
      const now = new Date().toISOString();
      const phoneNumber = `+1212555${String(i % 10_000).padStart(4, "0")}`;
      const base = { messageId, phoneNumber, sender: null, recipient: phoneNumber, simNumber: 1 };
      const body = JSON.stringify({
        id,
        webhookId: "bench-hook",
        deviceId: opts.deviceId,
        event: sent ? "sms:sent" : "sms:delivered",
        payload: sent ? { ...base, sentAt: now, partsCount: 1 } : { ...base, deliveredAt: now },
      });
      const timestamp = String(Math.floor(Date.now() / 1000));
      return {
        ...req,
        method: "POST",
        path: opts.path,
        headers: { "content-type": "application/json", "x-timestamp": timestamp, "x-signature": sign(opts.signingKey, body, timestamp) },
        body,
      };
    },
    built: () => k,
    overflow: () => overflow,
  };
}
