import { generateWebhookSecret } from "@inboxerr/webhooks";
import { sealSecret, type SecretsKey } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";

/** The seal's context per column (ADR 0023): a value sealed for one column opens in no other. */
export const SECRET_COLUMN = "webhook_endpoints.secret";
export const PREVIOUS_SECRET_COLUMN = "webhook_endpoints.previous_secret";

/** How long a rotated-out secret still signs deliveries, so receivers can switch over. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/**
 * SECRETS_KEY, or the 503 that says to set it: an endpoint's signing secret is stored sealed,
 * as gateway account secrets are (ADR 0017), and there is nothing safe to store without it.
 */
export function requireSecretsKey(secrets: SecretsKey | null): SecretsKey {
  if (!secrets) {
    throw new AppError("service_unavailable", "Webhook endpoints need SECRETS_KEY (32 bytes, base64) in the api's environment to store their signing secret");
  }
  return secrets;
}

/** A fresh `whsec_…` secret: the plain one for the answer, the sealed one for the row. */
export function newEndpointSecret(secrets: SecretsKey): { plain: string; sealed: string } {
  const plain = generateWebhookSecret();
  return { plain, sealed: sealSecret(secrets, SECRET_COLUMN, plain) };
}
