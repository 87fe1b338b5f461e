import { describe, expect, it } from "vitest";
import { phoneTimestamp } from "./timestamps";

describe("phoneTimestamp", () => {
  const at = Date.parse("2024-06-22T08:46:11.000Z");

  it("renders the phone's local time with milliseconds and its offset, denoting the same instant", () => {
    expect(phoneTimestamp(at, 0)).toBe("2024-06-22T08:46:11.000+00:00");
    expect(phoneTimestamp(at, 420)).toBe("2024-06-22T15:46:11.000+07:00");
    expect(phoneTimestamp(at, -330)).toBe("2024-06-22T03:16:11.000-05:30");
    expect(Date.parse(phoneTimestamp(at, -330))).toBe(at);
  });
});
