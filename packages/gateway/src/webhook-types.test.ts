import { describe, expect, it } from "vitest";
import { recipientOf, senderOf, smsGateWebhookSchema, webhookEnvelopeSchema } from "./webhook-types";

const envelope = { id: "Ey6ECgOkVVFjz3CL48B8C", webhookId: "wh-1", deviceId: "ffffffffceb0b1db0000018e937c815b" };

describe("smsGateWebhookSchema", () => {
  it("parses an sms:received event shaped like the SMS Gate docs, keeping unknown fields", () => {
    const parsed = smsGateWebhookSchema.parse({
      ...envelope,
      event: "sms:received",
      payload: {
        messageId: "abc123",
        message: "Android is always a sweet treat!",
        phoneNumber: "6505551212",
        simNumber: 1,
        receivedAt: "2024-06-22T15:46:11.000+07:00",
        futureField: true,
      },
    });
    expect(parsed.event).toBe("sms:received");
    if (parsed.event !== "sms:received") throw new Error("narrowing");
    expect(senderOf(parsed.payload)).toBe("6505551212");
    expect(parsed.payload).toHaveProperty("futureField", true);
  });

  it("accepts sms:sent with partsCount and either recipient or the older phoneNumber", () => {
    const sent = smsGateWebhookSchema.parse({
      ...envelope,
      event: "sms:sent",
      payload: { messageId: "m1", recipient: "+14155550100", sender: null, partsCount: 2, sentAt: "2026-02-17T12:00:00.000+00:00" },
    });
    if (sent.event !== "sms:sent") throw new Error("narrowing");
    expect(sent.payload.partsCount).toBe(2);
    expect(recipientOf(sent.payload)).toBe("+14155550100");
    expect(recipientOf({ phoneNumber: "+1999" })).toBe("+1999");
  });

  it("reads a partsCount or simNumber out of range or of the wrong type as absent, keeping the report", () => {
    for (const bad of [2 ** 31, 0, -1, 1.5, "2", null]) {
      const sent = smsGateWebhookSchema.parse({
        ...envelope,
        event: "sms:sent",
        payload: { messageId: "m1", sentAt: "2026-02-17T12:00:00Z", partsCount: bad, simNumber: bad },
      });
      if (sent.event !== "sms:sent") throw new Error("narrowing");
      expect(sent.payload.partsCount ?? undefined).toBeUndefined();
      expect(sent.payload.simNumber ?? undefined).toBeUndefined();
    }
  });

  it("defaults a missing sms:failed reason instead of rejecting the event", () => {
    const failed = smsGateWebhookSchema.parse({
      ...envelope,
      event: "sms:failed",
      payload: { messageId: "m1", phoneNumber: "+1", failedAt: "2024-02-20T15:30:00Z" },
    });
    if (failed.event !== "sms:failed") throw new Error("narrowing");
    expect(failed.payload.reason).toBe("Unknown");
  });

  it("rejects a delivery report without a parseable timestamp or message id", () => {
    const bad = (payload: object) => smsGateWebhookSchema.safeParse({ ...envelope, event: "sms:delivered", payload }).success;
    expect(bad({ messageId: "m1", deliveredAt: "yesterday" })).toBe(false);
    expect(bad({ deliveredAt: "2024-02-20T15:30:00Z" })).toBe(false);
    expect(bad({ messageId: "m1", deliveredAt: "2024-02-20T15:30:00+02:00" })).toBe(true);
  });

  it("leaves events it does not model to the generic envelope", () => {
    const mms = { ...envelope, event: "mms:received", payload: { transactionId: "t" } };
    expect(smsGateWebhookSchema.safeParse(mms).success).toBe(false);
    expect(webhookEnvelopeSchema.safeParse(mms).success).toBe(true);
  });
});
