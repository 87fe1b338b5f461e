import { sealSecret, type SecretsKey } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";

type AccountSecrets = { password?: string | undefined; webhookSigningKey?: string | undefined };

/**
 * The columns to write for the secrets a request carries, sealed (ADR 0017). Without
 * SECRETS_KEY nothing can be stored safely: 503, and the operator sets the key.
 */
export function sealAccountSecrets(secrets: SecretsKey | null, input: AccountSecrets): { password?: string; webhookSigningKey?: string } {
  const out: { password?: string; webhookSigningKey?: string } = {};
  if (input.password === undefined && input.webhookSigningKey === undefined) return out;
  if (!secrets) {
    throw new AppError("service_unavailable", "Storing gateway secrets needs SECRETS_KEY (32 bytes, base64) in the api's environment");
  }
  if (input.password !== undefined) out.password = sealSecret(secrets, "gateway_accounts.password", input.password);
  if (input.webhookSigningKey !== undefined) {
    out.webhookSigningKey = sealSecret(secrets, "gateway_accounts.webhook_signing_key", input.webhookSigningKey);
  }
  return out;
}
