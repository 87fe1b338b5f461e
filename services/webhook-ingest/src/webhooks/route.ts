import { Router, type Request, type Response } from "express";
import { verifyWebhookSignature, type SignatureFailure } from "@inboxerr/gateway";
import { AppError, rawBody as rawBodyParser, requestIdOf } from "@inboxerr/http";
import type { Logger } from "@inboxerr/logger";
import type { IngestInstruments } from "../prometheus";
import type { AccountKey, AccountKeys } from "./account-keys";
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * POST /webhooks/sms-gate (the env's `default` account, SMSGATE_WEBHOOK_SIGNING_KEY) and
 * POST /webhooks/sms-gate/:accountId (that gateway account's own signing key, ADR 0020). The
 * signature covers the exact bytes on the wire, so the body is read raw and verified before it
 * is parsed; nothing is written for a request that fails either check. Answers 200 {status}
 * once the webhook's batch has committed.
 */
export function smsGateWebhookRouter(opts: {
  processor: WebhookProcessor;
  signingKey: string;
  accountKeys: AccountKeys;
  defaultRegion: string;
  toleranceSeconds: number;
  metrics: IngestInstruments;
  logger: Logger;
}): Router {
  const router = Router();
  // Any content type: the signature, not the header, decides whether we trust the body.
  // Never inflated: a Content-Encoding other than identity answers 415 before the signature.
  const rawBody = rawBodyParser({ type: () => true, limit: "256kb" });

  const verify = (key: string, req: Request, raw: Buffer) =>
    verifyWebhookSignature({
      key,
      rawBody: raw,
      timestamp: req.header("x-timestamp"),
      signature: req.header("x-signature"),
      toleranceSeconds: opts.toleranceSeconds,
    });

  const refuse = (res: Response, reason: SignatureFailure, accountId?: string): never => {
    opts.metrics.received("unverified", "invalid_signature");
    opts.logger.warn({ reason, accountId, requestId: requestIdOf(res) }, "webhook refused: bad signature");
    throw new AppError("invalid_signature", REASONS[reason]);
  };

  /** Parses a verified body and applies it; `accountId` confines its reports to that account's attempts. */
  const apply = async (raw: Buffer, res: Response, accountId: string | null = null) => {
    let hook;
    try {
      hook = parseWebhook(raw, opts.defaultRegion);
      hook.accountId = accountId;
    } catch (err) {
      opts.metrics.received("unparsed", "malformed");
      throw err;
    }
    const status = await opts.processor.submit(hook);
    res.json({ status });
  };

  /** An account whose webhooks we cannot verify: nothing is written, and the phone is told why as far as is safe. */
  const refuseAccount = (res: Response, kind: Exclude<AccountKey["kind"], "key">, accountId: string): never => {
    opts.metrics.received("unverified", "invalid_signature");
    const requestId = requestIdOf(res);
    switch (kind) {
      case "unknown":
        opts.logger.warn({ accountId, requestId }, "webhook refused: no such gateway account");
        throw new AppError("not_found", "Gateway account not found");
      case "unreadable":
        // Our configuration, not the phone's fault: 503, so the gateway retries once it is fixed.
        opts.logger.error({ accountId, requestId }, "webhook refused: the account's signing key does not open with SECRETS_KEY");
        throw new AppError("service_unavailable", "The gateway account's signing key cannot be read here");
      case "disabled":
      case "no_key":
        opts.logger.warn({ accountId, requestId, reason: kind }, "webhook refused: the account takes no webhooks");
        throw new AppError("invalid_signature", "This gateway account has no webhook signing key in use");
    }
  };

  router.post("/webhooks/sms-gate", rawBody, async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verify(opts.signingKey, req, raw);
    if (!verdict.ok) refuse(res, verdict.reason);
    await apply(raw, res);
  });

  router.post("/webhooks/sms-gate/:accountId", rawBody, async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const accountId = String(req.params.accountId).toLowerCase();
    let account = UUID.test(accountId) ? await opts.accountKeys.get(accountId) : ({ kind: "unknown" } as const);
    let verdict = account.kind === "key" ? verify(account.key, req, raw) : null;
    // A mismatch may be a key rotated since we cached it: read it again (rate-limited) once.
    if (verdict && !verdict.ok && verdict.reason === "mismatch") {
      const fresh = await opts.accountKeys.recheck(accountId);
      if (fresh) {
        account = fresh;
        verdict = fresh.kind === "key" ? verify(fresh.key, req, raw) : null;
      }
    }
    if (account.kind !== "key") return refuseAccount(res, account.kind, accountId);
    if (verdict && !verdict.ok) refuse(res, verdict.reason, accountId);
    await apply(raw, res, account.scope);
  });

  return router;
}
