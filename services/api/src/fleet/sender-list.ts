import { asc, type SQL } from "drizzle-orm";
import { gatewayAccounts, senderUsage, senders } from "@inboxerr/db";
import type { Principal } from "../auth/principal";
import type { ApiDeps } from "../deps";
import { visibleSenders } from "./access";
import { toSenderJson } from "./serialize";

/** The senders the caller sees, matching `filters`, as GET /senders shows them (usage included). */
export async function listSenderJson(deps: ApiDeps, principal: Principal, ...filters: (SQL | undefined)[]) {
  const rows = await visibleSenders(deps, principal, ...filters).orderBy(
    asc(gatewayAccounts.createdAt),
    asc(senders.accountId),
    asc(senders.deviceId),
    asc(senders.simNumber),
  );
  const usage = await senderUsage(deps.db, rows.map((r) => r.sender.id));
  return rows.map((r) => toSenderJson(r.sender, r.ownerUserId === null, usage.get(r.sender.id)));
}
