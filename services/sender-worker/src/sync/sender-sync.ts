import { asc, eq } from "drizzle-orm";
import { gatewayAccounts, syncGatewayAccount, type AccountSyncSettings, type DbHandle, type GatewayAccount } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";

/** Accounts synced at once: a gateway that hangs until the timeout holds up one lane, not the pass. */
const LANES = 4;

export type SenderSyncDeps = { db: DbHandle; settings: AccountSyncSettings; logger: Logger };

/**
 * The periodic discovery (every SENDER_SYNC_SECONDS, one replica at a time under an advisory
 * lock): every active account's devices, upserted as senders, so new phones and SIMs show up
 * and last_seen_at stays fresh. One account failing (gateway down, wrong credentials) is
 * logged and the others go on.
 */
export function createSenderSync(deps: SenderSyncDeps) {
  const { db, settings, logger } = deps;

  async function syncOne(account: GatewayAccount): Promise<boolean> {
    try {
      const { devices, unreported } = await syncGatewayAccount(db.db, account, settings);
      logger.debug({ accountId: account.id, devices, unreported: unreported.length }, "gateway account synced");
      return true;
    } catch (err) {
      logger.warn({ err, accountId: account.id, account: account.name }, "gateway account sync failed; the other accounts go on");
      return false;
    }
  }

  return {
    /** Syncs every active account; returns how many there were and how many failed. */
    async runOnce(): Promise<{ accounts: number; failed: number }> {
      const accounts = await db.db
        .select()
        .from(gatewayAccounts)
        .where(eq(gatewayAccounts.status, "active"))
        .orderBy(asc(gatewayAccounts.createdAt));
      const pending = [...accounts];
      let failed = 0;
      const lane = async () => {
        for (let account = pending.shift(); account; account = pending.shift()) {
          if (!(await syncOne(account))) failed += 1;
        }
      };
      await Promise.all(Array.from({ length: Math.min(LANES, pending.length) }, lane));
      return { accounts: accounts.length, failed };
    },
  };
}
