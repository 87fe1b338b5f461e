import { Router } from "express";
import { verifyWebhookSignature, type SignatureFailure } from "@inboxerr/gateway";
import { AppError, rawBody as rawBodyParser, requestIdOf } from "@inboxerr/http";
import type { Logger } from "@inboxerr/logger";
import type { IngestInstruments } from "../prometheus";
import { parseWebhook } from "./parse";
import type { WebhookProcessor } from "./processor";

const REASONS: Record<SignatureFailure, string> = {
  missing_signature: "X-Signature header is missing",
  malformed_signature: "X-Signature is not a hex HMAC-SHA256",
  missing_timestamp: "X-Timestamp header is missing",
  malformed_timestamp: "X-Timestamp is not Unix seconds",
  stale_timestamp: "X-Timestamp is outside the accepted window",
  mismatch: "X-Signature does not match the body",
};

/**
 * POST /webhooks/sms-gate. The signature covers the exact bytes on the wire, so the body is
 * read raw and verified before it is parsed; nothing is written for a request that fails
 * either check. Answers 200 {status} once the webhook's batch has committed.
 */
export function smsGateWebhookRouter(opts: {
  processor: WebhookProcessor;
  signingKey: string;
  defaultRegion: string;
  toleranceSeconds: number;
  metrics: IngestInstruments;
  logger: Logger;
}): Router {
  const router = Router();
  // Any content type: the signature, not the header, decides whether we trust the body.
  // Never inflated: a Content-Encoding other than identity answers 415 before the signature.
  const rawBody = rawBodyParser({ type: () => true, limit: "256kb" });

  router.post("/webhooks/sms-gate", rawBody, async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verifyWebhookSignature({
      key: opts.signingKey,
      rawBody: raw,
      timestamp: req.header("x-timestamp"),
      signature: req.header("x-signature"),
      toleranceSeconds: opts.toleranceSeconds,
    });
    if (!verdict.ok) {
      opts.metrics.received("unverified", "invalid_signature");
      opts.logger.warn({ reason: verdict.reason, requestId: requestIdOf(res) }, "webhook refused: bad signature");
      throw new AppError("invalid_signature", REASONS[verdict.reason]);
    }
    let hook;
    try {
      hook = parseWebhook(raw, opts.defaultRegion);
    } catch (err) {
      opts.metrics.received("unparsed", "malformed");
      throw err;
    }
    const status = await opts.processor.submit(hook);
    res.json({ status });
  });
  return router;
}
