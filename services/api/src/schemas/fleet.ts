import { z } from "zod";
import { GATEWAY_ACCOUNT_STATUSES, SENDER_EVENT_TYPES, SENDER_STATUSES } from "@inboxerr/db";
import { nullableTimestamp, safeText } from "./common";

const timestamp = () => z.string().meta({ format: "date-time" });

const baseUrl = safeText({ max: 2048 })
  .refine((v) => URL.canParse(v) && ["http:", "https:"].includes(new URL(v).protocol), { message: "must be an http or https URL" })
  .meta({ description: "The gateway's API base, up to and including /3rdparty/v1", example: "https://api.sms-gate.app/3rdparty/v1" });
const name = safeText().min(1).max(100).meta({ example: "office phones" });
const username = safeText().min(1).max(256);
const password = safeText().min(1).max(1024).meta({ description: "Stored encrypted (SECRETS_KEY); never returned" });
const webhookSigningKey = safeText()
  .min(16)
  .max(1024)
  .meta({ description: "The key the phone signs its webhooks with; stored encrypted, never returned" });

export const CreateGatewayAccountRequest = z
  .strictObject({
    name,
    baseUrl,
    username,
    password,
    webhookSigningKey: webhookSigningKey.optional(),
    shared: z.boolean().default(false).meta({ description: "Admins only: an account every user may route through" }),
  })
  .meta({ id: "CreateGatewayAccountRequest" });

export const UpdateGatewayAccountRequest = z
  .strictObject({
    name: name.optional(),
    baseUrl: baseUrl.optional(),
    username: username.optional(),
    password: password.optional(),
    webhookSigningKey: webhookSigningKey.optional(),
    status: z.enum(GATEWAY_ACCOUNT_STATUSES).optional().meta({ description: "`disabled`: no new attempts through it" }),
  })
  .meta({ id: "UpdateGatewayAccountRequest" });

export const GatewayAccountSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.literal("smsgate"),
    baseUrl: z.string(),
    username: z.string(),
    status: z.enum(GATEWAY_ACCOUNT_STATUSES),
    shared: z.boolean().meta({ description: "Shared (the operator's): every user may route through it, admins manage it" }),
    managedBy: z.enum(["env", "api"]).meta({
      description: "`env`: the `default` account built from SMSGATE_* at boot; change it in the environment",
    }),
    hasPassword: z.boolean(),
    hasWebhookSigningKey: z.boolean(),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: "GatewayAccount" });

export const GatewayAccountListResponse = z.object({ data: z.array(GatewayAccountSchema) }).meta({ id: "GatewayAccountList" });

const cap = (what: string) => z.number().int().min(0).max(10_000_000).nullable().meta({ description: `${what}; null = no cap` });

export const UpdateSenderRequest = z
  .strictObject({
    label: safeText().max(100).nullable().optional(),
    ratePerMinute: z.number().int().min(1).max(100_000).nullable().optional().meta({ description: "Sends per minute; null = no limit" }),
    dailyCap: cap("Attempts per UTC day").optional(),
    monthlyUniqueCap: cap("Distinct recipients per UTC month").optional(),
    status: z.enum(["active", "paused"]).optional().meta({ description: "Pause or resume; `offline`/`retired` are not set by hand (sync retires only a phone's SIM-less sender once its SIMs have their own, ADR 0025)" }),
    pausedReason: safeText().max(500).nullable().optional(),
  })
  .meta({ id: "UpdateSenderRequest" });

export const SenderSchema = z
  .object({
    id: z.uuid(),
    accountId: z.uuid(),
    shared: z.boolean(),
    deviceId: z.string(),
    simNumber: z.number().int().nullable().meta({ description: "SIM slot 1..3; null = the device's default SIM" }),
    phoneNumber: z.string().nullable(),
    carrier: z.string().nullable(),
    label: z.string().nullable(),
    status: z.enum(SENDER_STATUSES),
    pausedReason: z.string().nullable(),
    limits: z.object({
      ratePerMinute: z.number().int().nullable(),
      dailyCap: z.number().int().nullable(),
      monthlyUniqueCap: z.number().int().nullable(),
    }),
    usage: z
      .object({
        today: z.number().int().meta({ description: "Attempts begun since 00:00 UTC (confirmed cancels aside)" }),
        monthUniqueRecipients: z.number().int().meta({ description: "Distinct recipients since the 1st, UTC" }),
      })
      .meta({ description: "Counted from the attempt rows" }),
    lastSeenAt: nullableTimestamp(),
    health: z.record(z.string(), z.unknown()).nullable().meta({ description: "The device's last system:ping" }),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: "Sender" });

export const SenderListQuery = z.object({
  accountId: z.string().optional().meta({ description: "Only this account's senders" }),
  status: z.enum(SENDER_STATUSES).optional(),
});

export const SenderListResponse = z.object({ data: z.array(SenderSchema) }).meta({ id: "SenderList" });

export const SenderSyncResponse = z
  .object({
    data: z.array(SenderSchema).meta({ description: "Every sender of the account after the sync, as GET /senders shows them" }),
    devices: z.number().int().meta({ description: "Devices the gateway listed (those it marks deleted aside)" }),
    unreported: z.array(z.uuid()).meta({
      description: "Senders of the account the gateway did not list this time (device removed, SIM gone); kept unchanged",
    }),
  })
  .meta({ id: "SenderSync" });

export const SenderEventListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: safeText().max(200).optional().meta({ description: "`nextCursor` of the previous page" }),
});

const SenderEventSchema = z
  .object({
    id: z.uuid(),
    senderId: z.uuid(),
    type: z.enum(SENDER_EVENT_TYPES).meta({
      description:
        "`sender.offline`/`sender.online`: the health pass saw the phone go silent or come back; " +
        "`sender.paused`: paused by its owner or an admin, or automatically after repeated failures (`sender.pausedReason`)",
    }),
    sender: SenderSchema.meta({ description: "The sender as GET /senders/{id} showed it at the change" }),
    occurredAt: timestamp(),
  })
  .meta({ id: "SenderEvent" });

export const SenderEventListResponse = z
  .object({
    data: z.array(SenderEventSchema),
    nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page" }),
  })
  .meta({ id: "SenderEventList" });
