import { describe, expect, it } from "vitest";
import { MESSAGE_STATUS_VALUES } from "@inboxerr/contracts";
import { MESSAGE_STATUSES } from "@inboxerr/db";

// The queue contract and the schema each list the statuses (the contracts package must not
// pull in the database driver); this keeps the two lists from drifting.
describe("message statuses", () => {
  it("are the same in the queue contract and the database schema, in rank order", () => {
    expect([...MESSAGE_STATUS_VALUES]).toEqual([...MESSAGE_STATUSES]);
  });
});
