import { openSecret, type SecretsKey } from "@inboxerr/db";
import { createSmsGateDriver, type GatewayDriver } from "@inboxerr/gateway";
import type { CachedAccount } from "./fleet-cache";

/** A send that cannot be made from here: the account's password cannot be read. */
export class AccountDriverError extends Error {
  override name = "AccountDriverError";
}

/**
 * One GatewayDriver per account (ADR 0019 "Accounts"), built on first use and again when the
 * account row changes (its updated_at is part of the key). The `default` account is the env's
 * SMSGATE_* driver; other accounts' passwords are opened with SECRETS_KEY, never logged.
 */
export function createAccountDrivers(opts: { envDriver: GatewayDriver; secrets: SecretsKey | null; timeoutMs: number }) {
  const drivers = new Map<string, { version: string; driver: GatewayDriver }>();
  return {
    /** The driver for `account`; null = the env's `default` one. Throws AccountDriverError. */
    driverFor(account: CachedAccount | null): GatewayDriver {
      if (account === null || account.isDefault) return opts.envDriver;
      const cached = drivers.get(account.id);
      if (cached?.version === account.version) return cached.driver;
      if (account.password === null) throw new AccountDriverError(`gateway account "${account.name}" has no password stored`);
      if (!opts.secrets) throw new AccountDriverError(`sending through gateway account "${account.name}" needs SECRETS_KEY`);
      let password: string;
      try {
        password = openSecret(opts.secrets, "gateway_accounts.password", account.password);
      } catch {
        throw new AccountDriverError(`gateway account "${account.name}"'s password does not open with this SECRETS_KEY`);
      }
      const driver = createSmsGateDriver({ baseUrl: account.baseUrl, username: account.username, password, timeoutMs: opts.timeoutMs });
      drivers.set(account.id, { version: account.version, driver });
      return driver;
    },
  };
}

export type AccountDrivers = ReturnType<typeof createAccountDrivers>;
