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
 * SMSGATE_DEVICE_ID/SMSGATE_SIM_NUMBER when a device is set (ADR 0017). Without
 * SMSGATE_SIM_NUMBER the device's existing sender, whatever its SIM, is the env's: discovery
 * adopts or retires the SIM-less one (ADR 0025), and a boot must not make it again. Called at the api's
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
  const sim = settings.SMSGATE_SIM_NUMBER ?? null;
  // Without a SIM number, any sender of the device will do (ADR 0025): once discovery has given
  // the device's SIMs senders of their own, a fresh SIM-less row would be a second budget for
  // one of those SIMs. With one, that SIM's row, as discovery would make it.
  const sender = await db.execute<{ id: string }>(sql`
    insert into senders (account_id, device_id, sim_number)
    select ${accountId}::uuid, ${settings.SMSGATE_DEVICE_ID}, ${sim}::smallint
    where ${sim}::smallint is not null or not exists (
      select 1 from senders where account_id = ${accountId}::uuid and device_id = ${settings.SMSGATE_DEVICE_ID})
    on conflict on constraint senders_account_id_device_id_sim_number_key do nothing
    returning id`);
  // The SIM-less row while it stands, else the device's lowest SIM not retired (its usual default).
  const senderId =
    sender.rows[0]?.id ??
    (await db.execute<{ id: string }>(sql`
      select id from senders
      where account_id = ${accountId}::uuid and device_id = ${settings.SMSGATE_DEVICE_ID}
        ${sim === null ? sql`` : sql`and sim_number = ${sim}::smallint`}
      order by status = 'retired', sim_number nulls first
      limit 1`)).rows[0]!.id;
  return { accountId, senderId };
}
