import { DEFAULT_ACCOUNT_NAME, openSecret, type DbHandle, type SecretsKey } from "@inboxerr/db";

/** What an account's webhooks are verified with, or why they cannot be. */
export type AccountKey =
  /** `scope`: the account its reports are confined to; null for `default` (ADR 0020). */
  | { kind: "key"; key: string; scope: string | null }
  | { kind: "unknown" }
  | { kind: "disabled" }
  | { kind: "no_key" }
  /** A sealed key this process cannot open (SECRETS_KEY unset or another one): our fault. */
  | { kind: "unreadable" };

export type AccountKeys = {
  /** The account's key, from a cache at most `ttlMs` old. */
  get: (accountId: string) => Promise<AccountKey>;
  /**
   * After a signature mismatch: reads the account again, unless it was read in the last
   * `recheckMs` (so a flood of bad signatures costs one read per few seconds), and returns the
   * fresh answer, or null when it was not read again. A rotated key works within that time.
   */
  recheck: (accountId: string) => Promise<AccountKey | null>;
};

type Entry = { at: number; value: Promise<AccountKey> };

// Unknown ids are cached too (a flood of made-up ids costs no reads); the map stays bounded.
const MAX_ENTRIES = 10_000;

/**
 * Per-account webhook signing keys (gateway_accounts.webhook_signing_key, sealed with
 * SECRETS_KEY, ADR 0017), cached briefly: a webhook is the hot path, and an account's key
 * changes rarely. The env's `default` account keeps its key in the env (SMSGATE_WEBHOOK_SIGNING_KEY).
 */
export function createAccountKeys(opts: {
  pool: DbHandle["pool"];
  secrets: SecretsKey | null;
  /** SMSGATE_WEBHOOK_SIGNING_KEY, the `default` account's. */
  defaultKey: string;
  ttlMs?: number;
  recheckMs?: number;
  clock?: () => number;
}): AccountKeys {
  const ttl = opts.ttlMs ?? 30_000;
  const recheckMs = opts.recheckMs ?? 5_000;
  const now = opts.clock ?? Date.now;
  const cache = new Map<string, Entry>();

  async function read(accountId: string): Promise<AccountKey> {
    const { rows } = await opts.pool.query<Row>(
      "select status, owner_user_id, name, webhook_signing_key from gateway_accounts where id = $1",
      [accountId],
    );
    const row = rows[0];
    if (!row) return { kind: "unknown" };
    if (row.status !== "active") return { kind: "disabled" };
    if (row.owner_user_id === null && row.name === DEFAULT_ACCOUNT_NAME) return { kind: "key", key: opts.defaultKey, scope: null };
    if (row.webhook_signing_key === null) return { kind: "no_key" };
    if (!opts.secrets) return { kind: "unreadable" };
    try {
      const key = openSecret(opts.secrets, "gateway_accounts.webhook_signing_key", row.webhook_signing_key);
      return { kind: "key", key, scope: accountId };
    } catch {
      return { kind: "unreadable" };
    }
  }

  function load(accountId: string): Promise<AccountKey> {
    const value = read(accountId);
    cache.delete(accountId);
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(accountId, { at: now(), value });
    // A failed read (Postgres down) is not kept: the next webhook tries again.
    value.catch(() => {
      if (cache.get(accountId)?.value === value) cache.delete(accountId);
    });
    return value;
  }

  return {
    get(accountId) {
      const hit = cache.get(accountId);
      return hit && now() - hit.at < ttl ? hit.value : load(accountId);
    },
    async recheck(accountId) {
      const hit = cache.get(accountId);
      if (hit && now() - hit.at < recheckMs) return null;
      return load(accountId);
    },
  };
}

type Row = { status: string; owner_user_id: string | null; name: string; webhook_signing_key: string | null };
