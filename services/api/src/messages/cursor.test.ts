import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "./cursor";

describe("list cursor", () => {
  it("round-trips microsecond timestamps and ids", () => {
    const c = { at: "2025-11-27T09:18:00.123456Z", id: "0b6f3a0e-6d2c-4b9e-9a51-3d8f7c1e2a40" };
    const encoded = encodeCursor(c);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(encoded)).toEqual(c);
  });

  it("refuses anything it did not issue with a 400", () => {
    for (const bad of ["", "abc", encodeCursor({ at: "yesterday", id: "x" })]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: "validation_failed" }));
    }
  });
});
