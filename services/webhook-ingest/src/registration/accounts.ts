import { and, asc, eq, isNotNull, isNull, not } from "drizzle-orm";
import { createSmsGateDriver } from "@inboxerr/gateway";
import { DEFAULT_ACCOUNT_NAME, gatewayAccounts, openSecret, type DbHandle, type GatewayAccount, type SecretsKey } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import { registerWebhooks } from "./register";

/** The URL an account's gateway calls: PUBLIC_WEBHOOK_URL plus the account id (ADR 0020). */
export function accountWebhookUrl(publicUrl: string, accountId: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/${accountId}`;
}

/** One pass: how many accounts it looked at, and the ids it registered and failed to. */
export type AccountPass = { accounts: number; registered: string[]; failed: string[] };

/**
 * Registers, on each active gateway account other than `default` that has a webhook signing
 * key, our per-account URL (accountWebhookUrl) for every event we act on. An account is
 * registered again only when what the registration depends on changed (URL, gateway, login)
 * or its last try failed, so a pass over a settled fleet makes no gateway calls. One account
 * failing (gateway down, wrong password) is logged and the others go on. `default` is the
 * env's, registered at PUBLIC_WEBHOOK_URL itself (main.ts).
 */
export function createAccountRegistration(opts: {
  db: DbHandle;
  /** SECRETS_KEY, parsed; null: no account's password can be read, so none is registered. */
  secrets: SecretsKey | null;
  /** PUBLIC_WEBHOOK_URL. */
  publicUrl: string;
  /** SMSGATE_TIMEOUT_MS. */
  timeoutMs: number;
  logger: Logger;
}) {
  // Account id → what its last successful registration was made from.
  const done = new Map<string, string>();
  // Accounts already warned about as unregistrable with what they hold, so a pass does not repeat it.
  const warned = new Map<string, string>();

  function warnOnce(account: GatewayAccount, fingerprint: string, message: string) {
    if (warned.get(account.id) === fingerprint) return;
    warned.set(account.id, fingerprint);
    opts.logger.warn({ accountId: account.id, account: account.name }, message);
  }

  async function registerOne(account: GatewayAccount): Promise<"registered" | "unchanged" | "failed"> {
    const url = accountWebhookUrl(opts.publicUrl, account.id);
    const fingerprint = [url, account.baseUrl, account.username, account.password].join("\n");
    if (done.get(account.id) === fingerprint) return "unchanged";
    if (!account.password || !opts.secrets) {
      warnOnce(account, fingerprint, "gateway account webhooks not registered: no password stored, or no SECRETS_KEY to read it");
      return "failed";
    }
    try {
      const password = openSecret(opts.secrets, "gateway_accounts.password", account.password);
      const driver = createSmsGateDriver({ baseUrl: account.baseUrl, username: account.username, password, timeoutMs: opts.timeoutMs });
      await registerWebhooks(driver, { url });
      done.set(account.id, fingerprint);
      warned.delete(account.id);
      opts.logger.info({ accountId: account.id, account: account.name, url }, "gateway account webhooks registered");
      return "registered";
    } catch (err) {
      opts.logger.warn({ err, accountId: account.id, account: account.name }, "registering a gateway account's webhooks failed; the next pass retries");
      return "failed";
    }
  }

  return {
    /** One pass over every account that should be registered. */
    async runOnce(): Promise<AccountPass> {
      const accounts = await opts.db.db
        .select()
        .from(gatewayAccounts)
        .where(
          and(
            eq(gatewayAccounts.status, "active"),
            isNotNull(gatewayAccounts.webhookSigningKey),
            not(and(isNull(gatewayAccounts.ownerUserId), eq(gatewayAccounts.name, DEFAULT_ACCOUNT_NAME))!),
          ),
        )
        .orderBy(asc(gatewayAccounts.createdAt));
      const pass: AccountPass = { accounts: accounts.length, registered: [], failed: [] };
      // One at a time: a handful of accounts, each a few quick calls, and a hung gateway is bounded by timeoutMs.
      for (const account of accounts) {
        const outcome = await registerOne(account);
        if (outcome === "registered") pass.registered.push(account.id);
        if (outcome === "failed") pass.failed.push(account.id);
      }
      return pass;
    },
  };
}
