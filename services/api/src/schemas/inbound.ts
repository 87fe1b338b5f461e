import { z } from "zod";
import { isoDateTime, safeText } from "./common";

export const ListInboundMessagesQuery = z.object({
  from: safeText().max(256).optional().meta({
    description: "Sender: normalised like `to` of a message (a short code or alphanumeric sender is matched as written)",
    example: "+14155550123",
  }),
  receivedAfter: isoDateTime().optional().meta({ description: "Received at or after (inclusive)" }),
  receivedBefore: isoDateTime().optional().meta({ description: "Received before (exclusive)" }),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: safeText().max(200).optional().meta({ description: "`nextCursor` of the previous page" }),
});

const InboundMessageSchema = z
  .object({
    id: z.uuid(),
    from: z.string().meta({ description: "E.164, or the sender as reported when it is not a phone number (short codes, names)" }),
    text: z.string(),
    deviceId: z.string().nullable().meta({ description: "The gateway phone that received it" }),
    userId: z
      .uuid()
      .nullable()
      .meta({ description: "The tenant it is attributed to; null = nobody had messaged that number (shown to admins)" }),
    receivedAt: z.string().meta({ format: "date-time", description: "When the phone received it, by the phone's clock" }),
    createdAt: z.string().meta({ format: "date-time", description: "When Inboxerr stored it" }),
  })
  .meta({ id: "InboundMessage" });

export const InboundMessageListResponse = z
  .object({
    data: z.array(InboundMessageSchema),
    nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page" }),
  })
  .meta({ id: "InboundMessageList" });
