import { describe, expect, it } from "vitest";
import { allowedFrom, canTransition, MESSAGE_STATUSES, skippedStatuses, TERMINAL_STATUSES, TRANSITIONS } from "./status";

describe("canTransition", () => {
  it("allows exactly the 25 documented moves", () => {
    expect(TRANSITIONS.map(([f, t]) => `${f}>${t}`).sort()).toEqual(
      [
        "scheduled>queued", "scheduled>sending", "scheduled>accepted", "scheduled>sent", "scheduled>delivered",
        "scheduled>failed", "scheduled>cancelled", "scheduled>expired",
        "queued>sending", "queued>accepted", "queued>sent", "queued>delivered", "queued>failed", "queued>cancelled",
        "queued>expired",
        "sending>accepted", "sending>sent", "sending>delivered", "sending>failed", "sending>expired",
        "accepted>sent", "accepted>delivered", "accepted>failed",
        "sent>delivered", "sent>failed",
      ].sort(),
    );
  });

  it("never leaves a terminal status and never repeats a status", () => {
    for (const from of MESSAGE_STATUSES) {
      expect(canTransition(from, from)).toBe(false);
      if ((TERMINAL_STATUSES as readonly string[]).includes(from)) {
        for (const to of MESSAGE_STATUSES) expect(canTransition(from, to)).toBe(false);
      }
    }
  });

  it("lets a delivery report overtake the sent report, but not the reverse", () => {
    expect(canTransition("accepted", "delivered")).toBe(true);
    expect(canTransition("delivered", "sent")).toBe(false);
  });

  it("cancels only before sending and expires only before the gateway has the message", () => {
    expect(allowedFrom("cancelled")).toEqual(["scheduled", "queued"]);
    expect(allowedFrom("expired")).toEqual(["scheduled", "queued", "sending"]);
  });

  it("lets a scheduled message become queued but never back", () => {
    expect(canTransition("scheduled", "queued")).toBe(true);
    expect(canTransition("queued", "scheduled")).toBe(false);
    expect(allowedFrom("scheduled")).toEqual([]);
  });
});

describe("skippedStatuses", () => {
  it("names the main-path states a forward move jumped over", () => {
    expect(skippedStatuses("accepted", "delivered")).toEqual(["sent"]);
    expect(skippedStatuses("sending", "sent")).toEqual(["accepted"]);
    expect(skippedStatuses("sending", "delivered")).toEqual(["accepted", "sent"]);
    expect(skippedStatuses("queued", "delivered")).toEqual(["sending", "accepted", "sent"]);
    expect(skippedStatuses("scheduled", "accepted")).toEqual(["sending"]);
  });

  it("implies nothing for a move to the next rank", () => {
    expect(skippedStatuses("queued", "sending")).toEqual([]);
    expect(skippedStatuses("sent", "delivered")).toEqual([]);
    expect(skippedStatuses("scheduled", "queued")).toEqual([]);
  });

  it("implies nothing for moves off the main path: failed may come before the gateway had it", () => {
    for (const from of ["queued", "sending", "accepted", "sent"] as const) {
      expect(skippedStatuses(from, "failed")).toEqual([]);
    }
    expect(skippedStatuses("queued", "cancelled")).toEqual([]);
    expect(skippedStatuses("sending", "expired")).toEqual([]);
  });
});
