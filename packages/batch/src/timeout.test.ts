import { describe, expect, it } from "vitest";
import { waitAtMost, withTimeout } from "./timeout";

describe("withTimeout", () => {
  it("settles as the promise does when it answers in time", async () => {
    await expect(withTimeout(Promise.resolve(7), 60_000, "answer")).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error("refused")), 60_000, "answer")).rejects.toThrow("refused");
  });

  it("rejects naming the work once the bound passes, and a late rejection stays handled", async () => {
    let fail!: (err: Error) => void;
    const never = new Promise<never>((_, reject) => (fail = reject));
    await expect(withTimeout(never, 1, "publish")).rejects.toThrow("publish did not finish within 1 ms");
    // Would end the run as an unhandled rejection if nothing were subscribed to it.
    fail(new Error("late"));
  });
});

describe("waitAtMost", () => {
  it("says whether the promise fulfilled within the bound, and rejects as it does in time", async () => {
    await expect(waitAtMost(Promise.resolve(7), 60_000)).resolves.toBe(true);
    await expect(waitAtMost(Promise.reject(new Error("refused")), 60_000)).rejects.toThrow("refused");
    let fail!: (err: Error) => void;
    const never = new Promise<never>((_, reject) => (fail = reject));
    await expect(waitAtMost(never, 1)).resolves.toBe(false);
    // Would end the run as an unhandled rejection if nothing were subscribed to it.
    fail(new Error("late"));
  });
});
