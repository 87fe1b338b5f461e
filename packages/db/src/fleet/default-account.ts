import { sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { DEFAULT_ACCOUNT_NAME } from "../schema/fleet";

/** The env's SMSGATE_* settings that describe the `default` account (its secrets stay in the env). */
export type DefaultAccountSettings = {
  SMSGATE_URL: string;
  SMSGATE_USERNAME: string;
  SMSGATE_DEVICE_ID?: string | undefined;
  SMSGATE_SIM_NUMBER?: number | undefined;
};

export type DefaultAccount = { accountId: string; senderId: string | null };

/**
 * Creates or updates the shared account `default` from the env, and the sender for
 * SMSGATE_DEVICE_ID/SMSGATE_SIM_NUMBER when a device is set (ADR 0017). Called at the api's
 * and the sender-worker's boot: one upsert each, so replicas booting at once end with one row,
 * and what an admin set on the sender (label, limits, status) is kept.
 */
export async function ensureDefaultAccount(db: DbOrTx, settings: DefaultAccountSettings): Promise<DefaultAccount> {
  const account = await db.execute<{ id: string }>(sql`
    insert into gateway_accounts (owner_user_id, name, base_url, username)
    values (null, ${DEFAULT_ACCOUNT_NAME}, ${settings.SMSGATE_URL}, ${settings.SMSGATE_USERNAME})
    on conflict on constraint gateway_accounts_owner_user_id_name_key do update
      set base_url = excluded.base_url, username = excluded.username, updated_at = now()
      where (gateway_accounts.base_url, gateway_accounts.username) is distinct from (excluded.base_url, excluded.username)
    returning id`);
  // An unchanged row is not updated (no write per boot), so RETURNING gives nothing: read it.
  const accountId =
    account.rows[0]?.id ??
    (await db.execute<{ id: string }>(sql`
      select id from gateway_accounts where owner_user_id is null and name = ${DEFAULT_ACCOUNT_NAME}`)).rows[0]!.id;
  if (!settings.SMSGATE_DEVICE_ID) return { accountId, senderId: null };
  const sender = await db.execute<{ id: string }>(sql`
    insert into senders (account_id, device_id, sim_number)
    values (${accountId}, ${settings.SMSGATE_DEVICE_ID}, ${settings.SMSGATE_SIM_NUMBER ?? null})
    on conflict on constraint senders_account_id_device_id_sim_number_key do nothing
    returning id`);
  const senderId =
    sender.rows[0]?.id ??
    (await db.execute<{ id: string }>(sql`
      select id from senders
      where account_id = ${accountId} and device_id = ${settings.SMSGATE_DEVICE_ID}
        and sim_number is not distinct from ${settings.SMSGATE_SIM_NUMBER ?? null}::smallint`)).rows[0]!.id;
  return { accountId, senderId };
}
