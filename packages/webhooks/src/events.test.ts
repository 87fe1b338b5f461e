import { describe, expect, it } from "vitest";
import { CUSTOMER_VISIBLE_STATUSES } from "@inboxerr/contracts";
import { MESSAGE_STATUSES } from "@inboxerr/db";
import { messageEventType } from "./events";

describe("messageEventType", () => {
  it("names a webhook type for exactly the statuses the outbox puts on webhook-events", () => {
    // A status told of but not queued would never reach a customer; one queued but not told of
    // would be a Redis add the dispatcher drops.
    const told = MESSAGE_STATUSES.filter((s) => messageEventType(s) !== null);
    expect(new Set(told)).toEqual(new Set(CUSTOMER_VISIBLE_STATUSES));
    for (const s of CUSTOMER_VISIBLE_STATUSES) expect(messageEventType(s)).toBe(`message.${s}`);
  });
});
