import type { GatewayAccount, Sender, SenderUsage } from "@inboxerr/db";
import { isEnvManaged } from "./access";

/** Never a secret: only whether one is set. The env account's secrets live in the env. */
export function toGatewayAccountJson(a: GatewayAccount) {
  const env = isEnvManaged(a);
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    baseUrl: a.baseUrl,
    username: a.username,
    status: a.status,
    shared: a.ownerUserId === null,
    managedBy: env ? ("env" as const) : ("api" as const),
    hasPassword: env || a.password !== null,
    hasWebhookSigningKey: env || a.webhookSigningKey !== null,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

const NO_USAGE: SenderUsage = { today: 0, monthUniqueRecipients: 0 };

export function toSenderJson(s: Sender, shared: boolean, usage: SenderUsage | undefined) {
  return {
    id: s.id,
    accountId: s.accountId,
    shared,
    deviceId: s.deviceId,
    simNumber: s.simNumber,
    phoneNumber: s.phoneNumber,
    carrier: s.carrier,
    label: s.label,
    status: s.status,
    pausedReason: s.pausedReason,
    limits: { ratePerMinute: s.ratePerMinute, dailyCap: s.dailyCap, monthlyUniqueCap: s.monthlyUniqueCap },
    usage: usage ?? NO_USAGE,
    lastSeenAt: s.lastSeenAt?.toISOString() ?? null,
    health: (s.health as Record<string, unknown> | null) ?? null,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}
