import { and, eq, isNull, or, type SQL } from "drizzle-orm";
import { DEFAULT_ACCOUNT_NAME, gatewayAccounts, senders, sqlState, type GatewayAccount } from "@inboxerr/db";
import { AppError, notFound } from "@inboxerr/http";
import type { Principal } from "../auth/principal";
import type { ApiDeps } from "../deps";
import { resourceId } from "../http/ids";

/**
 * Who sees and who changes a gateway account (and so its senders): everyone sees their own
 * and the shared ones (owner NULL); only the owner changes a private one, only an admin a
 * shared one. Another user's private account does not exist for the caller (404), an admin
 * included: private phones are their owner's business.
 */
export function visibleAccounts(principal: Pick<Principal, "userId">): SQL {
  return or(eq(gatewayAccounts.ownerUserId, principal.userId), isNull(gatewayAccounts.ownerUserId))!;
}

export function canManage(principal: Principal, account: { ownerUserId: string | null }): boolean {
  return account.ownerUserId === null ? principal.role === "admin" : account.ownerUserId === principal.userId;
}

/** The env's `default` account: its settings come from SMSGATE_* at every boot (ADR 0017). */
export function isEnvManaged(account: Pick<GatewayAccount, "ownerUserId" | "name">): boolean {
  return account.ownerUserId === null && account.name === DEFAULT_ACCOUNT_NAME;
}

/**
 * A visible account the caller manages, or the problem that says why not (404, 403). Syncing
 * its senders is managing it, the env's `default` account included.
 */
export async function accountToOperate(deps: ApiDeps, principal: Principal, rawId: string): Promise<GatewayAccount> {
  const id = resourceId(rawId, "Gateway account");
  const [account] = await deps.db
    .select()
    .from(gatewayAccounts)
    .where(and(eq(gatewayAccounts.id, id), visibleAccounts(principal)));
  if (!account) throw notFound("Gateway account");
  if (!canManage(principal, account)) throw new AppError("forbidden", "Only an admin may change a shared gateway account");
  return account;
}

/** accountToOperate, and not the env's `default` account, whose settings only the env changes (409). */
export async function accountToManage(deps: ApiDeps, principal: Principal, rawId: string): Promise<GatewayAccount> {
  const account = await accountToOperate(deps, principal, rawId);
  if (isEnvManaged(account)) {
    throw new AppError("conflict", "The default account is built from the SMSGATE_* settings at boot: change it in the environment");
  }
  return account;
}

/** `default` among shared accounts is the env's; nobody else may take the name. */
export function assertNameFree(shared: boolean, name: string | undefined): void {
  if (shared && name === DEFAULT_ACCOUNT_NAME) {
    throw new AppError("conflict", `The shared name "${DEFAULT_ACCOUNT_NAME}" is the environment's SMSGATE_* account`);
  }
}

/** Runs an account write, turning a duplicate name into 409. */
export async function uniqueName<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (sqlState(err) === "23505") throw new AppError("conflict", "A gateway account with this name already exists");
    throw err;
  }
}

/** Senders the caller sees (those of visible accounts), with the account's owner for canManage. */
export function visibleSenders(deps: ApiDeps, principal: Principal, ...filters: (SQL | undefined)[]) {
  return deps.db
    .select({ sender: senders, ownerUserId: gatewayAccounts.ownerUserId })
    .from(senders)
    .innerJoin(gatewayAccounts, eq(gatewayAccounts.id, senders.accountId))
    .where(and(visibleAccounts(principal), ...filters));
}
