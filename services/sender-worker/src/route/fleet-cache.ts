import { sql } from "drizzle-orm";
import { DEFAULT_ACCOUNT_NAME, type Db, type GatewayAccountStatus, type SenderStatus } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";

/** A gateway account as routing and sending need it (the sealed password stays sealed here). */
export type CachedAccount = {
  id: string;
  ownerUserId: string | null;
  name: string;
  status: GatewayAccountStatus;
  baseUrl: string;
  username: string;
  password: string | null;
  /** The env's `default` account: its driver is the SMSGATE_* one. */
  isDefault: boolean;
  /** Changes with every edit of the row: keys the account's driver cache. */
  version: string;
};

export type CachedSender = {
  id: string;
  accountId: string;
  deviceId: string;
  simNumber: number | null;
  status: SenderStatus;
  ratePerMinute: number | null;
  dailyCap: number | null;
  monthlyUniqueCap: number | null;
};

export type FleetSnapshot = {
  accounts: Map<string, CachedAccount>;
  senders: Map<string, CachedSender>;
  /** Senders by the owner of their account; shared ones (owner NULL) under "". */
  byOwner: Map<string, CachedSender[]>;
  /** Whether the `default` account has any sender row (else the implicit env sender stands in). */
  defaultHasSenders: boolean;
  /** The `default` account's status, or null when it has no row yet. */
  defaultStatus: GatewayAccountStatus | null;
};

const EMPTY: FleetSnapshot = { accounts: new Map(), senders: new Map(), byOwner: new Map(), defaultHasSenders: false, defaultStatus: null };

/**
 * Every account and sender, read at most every `refreshMs` (ADR 0019: a pause takes effect
 * within about a second). Fleets are tens of rows, so a full read is cheaper than tracking
 * changes. A failed refresh keeps the last snapshot: routing on a second-old view beats
 * failing every claim while Postgres hiccups (the claim itself will fail then anyway).
 */
export function createFleetCache(opts: { db: Db; refreshMs: number; logger: Logger }) {
  let snapshot: FleetSnapshot = EMPTY;
  let loadedAt = -Infinity;
  let loading: Promise<FleetSnapshot> | undefined;

  async function load(): Promise<FleetSnapshot> {
    const [accounts, senders] = await Promise.all([
      opts.db.execute<{
        id: string;
        owner_user_id: string | null;
        name: string;
        status: GatewayAccountStatus;
        base_url: string;
        username: string;
        password: string | null;
        version: string;
      }>(sql`select id, owner_user_id, name, status, base_url, username, password, updated_at::text as version from gateway_accounts`),
      opts.db.execute<{
        id: string;
        account_id: string;
        device_id: string;
        sim_number: number | null;
        status: SenderStatus;
        rate_per_minute: number | null;
        daily_cap: number | null;
        monthly_unique_cap: number | null;
      }>(sql`
        select id, account_id, device_id, sim_number, status, rate_per_minute, daily_cap, monthly_unique_cap
        from senders order by account_id, device_id, sim_number nulls first`),
    ]);
    const next: FleetSnapshot = { accounts: new Map(), senders: new Map(), byOwner: new Map(), defaultHasSenders: false, defaultStatus: null };
    for (const a of accounts.rows) {
      const isDefault = a.owner_user_id === null && a.name === DEFAULT_ACCOUNT_NAME;
      if (isDefault) next.defaultStatus = a.status;
      next.accounts.set(a.id, {
        id: a.id,
        ownerUserId: a.owner_user_id,
        name: a.name,
        status: a.status,
        baseUrl: a.base_url,
        username: a.username,
        password: a.password,
        isDefault,
        version: a.version,
      });
    }
    for (const s of senders.rows) {
      const account = next.accounts.get(s.account_id);
      if (!account) continue; // created between the two reads: the next refresh has it
      const sender: CachedSender = {
        id: s.id,
        accountId: s.account_id,
        deviceId: s.device_id,
        simNumber: s.sim_number === null ? null : Number(s.sim_number),
        status: s.status,
        ratePerMinute: s.rate_per_minute,
        dailyCap: s.daily_cap,
        monthlyUniqueCap: s.monthly_unique_cap,
      };
      next.senders.set(s.id, sender);
      const owner = account.ownerUserId ?? "";
      next.byOwner.set(owner, [...(next.byOwner.get(owner) ?? []), sender]);
      if (account.isDefault) next.defaultHasSenders = true;
    }
    return next;
  }

  return {
    refreshMs: opts.refreshMs,
    /** The snapshot, refreshed first when it is older than refreshMs. */
    async get(): Promise<FleetSnapshot> {
      if (performance.now() - loadedAt < opts.refreshMs) return snapshot;
      loading ??= load()
        .then((next) => {
          snapshot = next;
          loadedAt = performance.now();
          return next;
        })
        .catch((err: unknown) => {
          if (loadedAt === -Infinity) throw err;
          opts.logger.warn({ err }, "could not refresh the sender cache; routing on the last one");
          return snapshot;
        })
        .finally(() => {
          loading = undefined;
        });
      return loading;
    },
  };
}

export type FleetCache = ReturnType<typeof createFleetCache>;
