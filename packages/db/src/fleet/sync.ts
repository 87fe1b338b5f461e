import { sql } from "drizzle-orm";
import { createSmsGateDriver, GatewayRequestError, type GatewayDevice } from "@inboxerr/gateway";
import type { DbOrTx } from "../client";
import { DEFAULT_ACCOUNT_NAME, type GatewayAccount } from "../schema/fleet";
import { sqlList } from "../schema/util";
import { NON_TERMINAL_STATUSES } from "../status";
import { openSecret, SecretError, type SecretsKey } from "../secrets";

/** What a sync needs besides the account row: how to read its secrets, and a time bound. */
export type AccountSyncSettings = {
  /** SECRETS_KEY, parsed; null when unset (then only the `default` account can be synced). */
  secrets: SecretsKey | null;
  /** SMSGATE_PASSWORD: the `default` account's password stays in the env (ADR 0017). */
  defaultPassword: string;
  /** Bounds the gateway call (SMSGATE_TIMEOUT_MS). */
  timeoutMs: number;
};

export type AccountSyncResult = {
  /** Devices the gateway listed (those it marks deleted aside). */
  devices: number;
  /** Senders of the account the gateway did not list this time: kept as they are. */
  unreported: string[];
};

/**
 * A sync that could not happen: `gateway` when the gateway refused or did not answer (the
 * caller's 502), `secrets` when the account's password cannot be read here (503).
 */
export class AccountSyncError extends Error {
  override name = "AccountSyncError";
  constructor(
    message: string,
    readonly kind: "gateway" | "secrets",
    /** The gateway's HTTP status, or null (no answer, or not the gateway's fault). */
    readonly status: number | null,
  ) {
    super(message);
  }
}

/**
 * Discovery (DESIGN-2.md "Fleet"): reads the account's `GET /devices` and upserts one sender
 * per SIM (a device without SIM cards: one sender with sim_number NULL, the device's default
 * SIM). Only what the gateway knows is written: phone number and carrier when it says them,
 * last_seen_at never moved back. Label, limits and status are the admin's (a `paused` or
 * `retired` sender stays so). Senders the gateway no longer lists are left alone and reported:
 * whether a vanished SIM means retired or just offline is the health check's call.
 * One exception (ADR 0025, one sender per SIM): a device that reports SIM cards keeps no
 * routable SIM-less sender beside them; that one is adopted by its only SIM, or retired.
 */
export async function syncGatewayAccount(db: DbOrTx, account: GatewayAccount, settings: AccountSyncSettings): Promise<AccountSyncResult> {
  const driver = createSmsGateDriver({
    baseUrl: account.baseUrl,
    username: account.username,
    password: passwordOf(account, settings),
    timeoutMs: settings.timeoutMs,
  });
  let devices: GatewayDevice[];
  try {
    devices = await driver.listDevices();
  } catch (err) {
    if (!(err instanceof GatewayRequestError)) throw err;
    throw new AccountSyncError(gatewayFailure(account, err), "gateway", err.status);
  }
  const live = devices.filter((d) => d.deletedAt === null);
  const rows = sendersOf(live);
  const result = await db.transaction(async (tx) => {
    await adoptDefaultSimSenders(tx, account.id, live);
    const kept = rows.length === 0 ? [] : await upsertSenders(tx, account.id, rows);
    await retireSupersededSenders(tx, account.id, live);
    const unreported = await tx.execute<{ id: string }>(sql`
      select id from senders
      where account_id = ${account.id}::uuid
        ${kept.length > 0 ? sql`and id not in (${sql.join(kept.map((id) => sql`${id}::uuid`), sql`, `)})` : sql``}
      order by device_id, sim_number`);
    return { devices: live.length, unreported: unreported.rows.map((r) => r.id) };
  });
  await repinFromSupersededSenders(db, account.id);
  return result;
}

async function upsertSenders(tx: DbOrTx, accountId: string, rows: SenderRow[]): Promise<string[]> {
  const upserted = await tx.execute<{ id: string }>(sql`
    insert into senders (account_id, device_id, sim_number, phone_number, carrier, last_seen_at)
    values ${sql.join(
      rows.map(
        (r) => sql`(${accountId}::uuid, ${r.deviceId}, ${r.simNumber}::smallint, ${r.phoneNumber}, ${r.carrier}, ${r.lastSeen}::timestamptz)`,
      ),
      sql`, `,
    )}
    on conflict on constraint senders_account_id_device_id_sim_number_key do update
      set phone_number = coalesce(excluded.phone_number, senders.phone_number),
          carrier = coalesce(excluded.carrier, senders.carrier),
          -- greatest() skips NULL; a system:ping may have seen the phone later than the gateway says.
          last_seen_at = greatest(senders.last_seen_at, excluded.last_seen_at),
          -- last_seen_at moves on every sync; only a new number or carrier is a change of the sender.
          updated_at = case
            when (coalesce(excluded.phone_number, senders.phone_number), coalesce(excluded.carrier, senders.carrier))
                 is distinct from (senders.phone_number, senders.carrier) then now()
            else senders.updated_at end
    returning id`);
  return upserted.rows.map((r) => r.id);
}

/** Why sync retired a device's SIM-less sender (ADR 0025); shown as the sender's pausedReason. */
const SUPERSEDED_REASON = "superseded by its SIMs' own senders after discovery";

/**
 * ADR 0025, first half: a device's "default SIM" sender (sim_number NULL, e.g. the env's
 * SMSGATE_DEVICE_ID without SMSGATE_SIM_NUMBER) becomes the sender of the one SIM its device
 * reports, when that SIM has no sender yet. Its id, so its pins, sticky recipients, budget
 * usage and history, carry on. A retired one is left alone: it never sends again anyway.
 */
async function adoptDefaultSimSenders(tx: DbOrTx, accountId: string, live: GatewayDevice[]): Promise<void> {
  const single = live.flatMap((d) => {
    const sims = new Set(d.simCards.map((c) => c.simNumber));
    return sims.size === 1 ? [{ deviceId: d.id, simNumber: [...sims][0]! }] : [];
  });
  if (single.length === 0) return;
  await tx.execute(sql`
    update senders n set sim_number = v.sim_number, updated_at = now()
    from (values ${sql.join(
      single.map((d) => sql`(${d.deviceId}, ${d.simNumber}::smallint)`),
      sql`, `,
    )}) as v(device_id, sim_number)
    where n.account_id = ${accountId}::uuid and n.device_id = v.device_id and n.sim_number is null and n.status <> 'retired'
      and not exists (
        select 1 from senders s where s.account_id = n.account_id and s.device_id = v.device_id and s.sim_number = v.sim_number)`);
}

/**
 * ADR 0025, second half: a device that reports SIM cards routes through their senders only,
 * so a SIM-less sender of it still standing (several SIMs, or both rows already there) is
 * retired: left beside them it would be a second budget for one of those SIMs. Its pinned
 * messages move in repinFromSupersededSenders, after this transaction commits.
 */
async function retireSupersededSenders(tx: DbOrTx, accountId: string, live: GatewayDevice[]): Promise<void> {
  const withSims = live.filter((d) => d.simCards.length > 0).map((d) => d.id);
  if (withSims.length === 0) return;
  await tx.execute(sql`
    update senders set status = 'retired', paused_reason = ${SUPERSEDED_REASON}, updated_at = now()
    where account_id = ${accountId}::uuid and sim_number is null and status <> 'retired'
      and device_id in (${sql.join(withSims.map((id) => sql`${id}`), sql`, `)})`);
}

/**
 * Unfinished messages pinned to a sender sync retired (ADR 0025) move to its device's
 * lowest-numbered SIM's sender still standing (the usual default SIM; the gateway does not say
 * which one is); else they would wait `no_active_sender` for ever. A statement of its own, on
 * every sync, after the retire committed: a send that pinned the sender while the retire
 * waited for its `for share` lock committed before the retire did, so this statement's
 * snapshot has it (one statement with the retire would not: it reads as of its start), and
 * what one pass misses the next one moves. Its own transaction, too: messages are locked after
 * the senders' transaction ended, never in the order ingest's report batch takes them reversed.
 */
async function repinFromSupersededSenders(db: DbOrTx, accountId: string): Promise<void> {
  await db.execute(sql`
    with heir as (
      select distinct on (r.id) r.id as retired_id, s.id as heir_id
      from senders r
      join senders s on s.account_id = r.account_id and s.device_id = r.device_id and s.sim_number is not null and s.status <> 'retired'
      where r.account_id = ${accountId}::uuid and r.sim_number is null and r.status = 'retired' and r.paused_reason = ${SUPERSEDED_REASON}
      order by r.id, s.sim_number
    )
    update messages m set pinned_sender_id = h.heir_id
    from heir h
    where m.pinned_sender_id = h.retired_id and m.status in ${sqlList(NON_TERMINAL_STATUSES)}`);
}

type SenderRow = { deviceId: string; simNumber: number | null; phoneNumber: string | null; carrier: string | null; lastSeen: Date | null };

/**
 * One row per SIM, each (device, SIM) once: one INSERT … ON CONFLICT may not touch a row twice.
 * Sorted, so a sync from the api and the periodic one lock an account's rows in the same order.
 */
function sendersOf(devices: GatewayDevice[]): SenderRow[] {
  const rows = new Map<string, SenderRow>();
  for (const d of devices) {
    const sims = d.simCards.length > 0 ? d.simCards : [{ simNumber: null, phoneNumber: null, carrierName: null }];
    for (const sim of sims) {
      rows.set(`${d.id}\u0000${sim.simNumber}`, {
        deviceId: d.id,
        simNumber: sim.simNumber,
        phoneNumber: sim.phoneNumber,
        carrier: sim.carrierName,
        lastSeen: d.lastSeen,
      });
    }
  }
  return [...rows.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : (a.simNumber ?? 0) - (b.simNumber ?? 0)));
}

function passwordOf(account: GatewayAccount, settings: AccountSyncSettings): string {
  if (account.ownerUserId === null && account.name === DEFAULT_ACCOUNT_NAME) return settings.defaultPassword;
  if (account.password === null) throw new AccountSyncError(`Gateway account "${account.name}" has no password stored`, "secrets", null);
  if (!settings.secrets) {
    throw new AccountSyncError(`Reading gateway account "${account.name}"'s password needs SECRETS_KEY in this service's environment`, "secrets", null);
  }
  try {
    return openSecret(settings.secrets, "gateway_accounts.password", account.password);
  } catch (err) {
    if (!(err instanceof SecretError)) throw err;
    throw new AccountSyncError(`Gateway account "${account.name}"'s password does not open with this SECRETS_KEY (was the key changed?)`, "secrets", null);
  }
}

function gatewayFailure(account: GatewayAccount, err: GatewayRequestError): string {
  if (err.status === 401 || err.status === 403) {
    return `The gateway refused gateway account "${account.name}"'s credentials (HTTP ${err.status}): check its username and password`;
  }
  return `Gateway account "${account.name}": ${err.message}`;
}
