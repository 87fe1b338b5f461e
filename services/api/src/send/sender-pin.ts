import { and, eq, ne, type SQL } from "drizzle-orm";
import { gatewayAccounts, senders, type Tx } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import type { Principal } from "../auth/principal";
import { visibleAccounts } from "../fleet/access";
import { isUuid } from "../http/ids";
import type { PhoneNormalizer } from "./phone-cache";

/** `from` on a send, read before any transaction: a sender id, or a sending number in E.164. */
export type SenderRef = { id: string; phone: string | null } | { id: null; phone: string };

/** Codes in `errors[].code` of the 422 a `from` can earn. */
type PinRejectCode = "unknown_sender" | "sender_not_allowed" | "sender_retired" | "ambiguous_sender";

function refuse(code: PinRejectCode, detail: string): AppError {
  return new AppError("unprocessable", `Cannot send from this sender: ${detail}`, { errors: [{ path: "from", code, detail }] });
}

/**
 * Reads `from`: a UUID is a sender id (it could never be a phone number), anything else is a
 * number normalised like `to`. Pure CPU, so a bad value is refused before a transaction opens.
 */
export function parseFrom(value: string, phones: PhoneNormalizer): SenderRef {
  if (isUuid(value)) return { id: value.toLowerCase(), phone: null };
  const phone = phones.normalize(value);
  if (!phone.ok) throw refuse("unknown_sender", `${JSON.stringify(value)} is neither a sender id nor a phone number (${phone.reason})`);
  return { id: null, phone: phone.e164 };
}

/**
 * The sender a send pins its messages to (`messages.pinned_sender_id`), resolved in the send's
 * own transaction. The caller may pin what routing would let them use (ADR 0019
 * "Candidates"): their own accounts' senders if they have any not retired, else the shared
 * ones; another user's private sender does not exist for them (`unknown_sender`), as in
 * fleet/access.ts. A paused or offline sender, or one of a disabled account, is accepted: the messages wait for
 * it (`waitingReason`). A retired one never comes back, so it is refused.
 *
 * The matching rows are locked `for share`: deleting an account locks its senders `for update`
 * before it counts the messages pinned to them (ADR 0017), so this send either commits first
 * and is counted, or waits and then finds the sender gone.
 */
export async function resolvePinnedSender(tx: Tx, principal: Pick<Principal, "userId">, ref: SenderRef): Promise<string> {
  const match: SQL = ref.id !== null ? eq(senders.id, ref.id) : eq(senders.phoneNumber, ref.phone);
  const rows = await tx
    .select({ id: senders.id, status: senders.status, ownerUserId: gatewayAccounts.ownerUserId })
    .from(senders)
    .innerJoin(gatewayAccounts, eq(gatewayAccounts.id, senders.accountId))
    .where(and(visibleAccounts(principal), match))
    // One lock order for every locker of several rows (a number two SIMs share): no deadlock.
    .orderBy(senders.id)
    .for("share", { of: senders });
  const what = ref.id ?? ref.phone;
  if (rows.length === 0) throw refuse("unknown_sender", `no sender ${what} among your senders and the shared ones`);

  const [own] = await tx
    .select({ id: senders.id })
    .from(senders)
    .innerJoin(gatewayAccounts, eq(gatewayAccounts.id, senders.accountId))
    // As the router counts them (router.ts `own`): a retired sender never sends again, so a
    // user whose own senders are all retired routes through the shared ones, and may pin those.
    .where(and(eq(gatewayAccounts.ownerUserId, principal.userId), ne(senders.status, "retired")))
    .limit(1);
  const allowed = rows.filter((r) => (own ? r.ownerUserId === principal.userId : r.ownerUserId === null));
  if (allowed.length === 0) {
    throw refuse("sender_not_allowed", `${what} is a shared sender; you have senders of your own (not retired), and your messages go through those only`);
  }
  const usable = allowed.filter((r) => r.status !== "retired");
  if (usable.length === 0) throw refuse("sender_retired", `sender ${what} is retired and sends nothing any more`);
  if (usable.length > 1) {
    throw refuse("ambiguous_sender", `${usable.length} of your senders have the number ${what}; pass one's id instead (${usable.map((r) => r.id).join(", ")})`);
  }
  return usable[0]!.id;
}
