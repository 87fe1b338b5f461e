import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { GatewayAccountStatus } from "@inboxerr/db";
import type { CachedAccount, CachedSender, FleetSnapshot } from "./fleet-cache";
import { routeMessage, type RouteInput } from "./router";

// routeMessage is pure: each fleet is built by hand, as fleet-cache.ts would load it.

type AccountSpec = { owner?: string; isDefault?: boolean; status?: GatewayAccountStatus; senders?: CachedSender["status"][] };

function fleetOf(...specs: AccountSpec[]) {
  const fleet: FleetSnapshot = { accounts: new Map(), senders: new Map(), byOwner: new Map(), defaultHasSenders: false, defaultStatus: null };
  const senderIds: string[][] = [];
  for (const spec of specs) {
    const account: CachedAccount = {
      id: randomUUID(),
      ownerUserId: spec.owner ?? null,
      name: spec.isDefault ? "default" : randomUUID(),
      status: spec.status ?? "active",
      baseUrl: "http://gateway.test",
      username: "u",
      password: null,
      isDefault: spec.isDefault ?? false,
      version: "1",
    };
    fleet.accounts.set(account.id, account);
    if (account.isDefault) fleet.defaultStatus = account.status;
    const ids: string[] = [];
    for (const status of spec.senders ?? []) {
      const sender: CachedSender = {
        id: randomUUID(),
        accountId: account.id,
        deviceId: randomUUID(),
        simNumber: null,
        status,
        ratePerMinute: null,
        dailyCap: null,
        monthlyUniqueCap: null,
      };
      fleet.senders.set(sender.id, sender);
      const owner = account.ownerUserId ?? "";
      fleet.byOwner.set(owner, [...(fleet.byOwner.get(owner) ?? []), sender]);
      if (account.isDefault) fleet.defaultHasSenders = true;
      ids.push(sender.id);
    }
    senderIds.push(ids);
  }
  return { fleet, senderIds };
}

const USER = randomUUID();
const input = (overrides: Partial<RouteInput> = {}): RouteInput => ({
  messageId: randomUUID(),
  userId: USER,
  to: "+15550000001",
  pinnedSenderId: null,
  stickySenderId: null,
  ...overrides,
});
const candidatesOf = (route: ReturnType<typeof routeMessage>) => (route.kind === "budget" ? route.request.candidates.map((c) => c.id) : route);

describe("routeMessage: the implicit env sender", () => {
  it("stands in while the default account has no senders and no other sender exists", () => {
    expect(routeMessage(fleetOf().fleet, input())).toEqual({ kind: "implicit" });
    expect(routeMessage(fleetOf({ isDefault: true }).fleet, input())).toEqual({ kind: "implicit" });
    // Retired senders are as good as none.
    expect(routeMessage(fleetOf({ isDefault: true }, { senders: ["retired"] }).fleet, input())).toEqual({ kind: "implicit" });
  });

  it("does not bypass shared senders that are all paused or offline (or on a disabled account): waits no_active_sender", () => {
    const wait = { kind: "wait", reason: "no_active_sender" };
    expect(routeMessage(fleetOf({ isDefault: true }, { senders: ["paused", "paused"] }).fleet, input())).toEqual(wait);
    expect(routeMessage(fleetOf({ isDefault: true }, { senders: ["offline"] }).fleet, input())).toEqual(wait);
    expect(routeMessage(fleetOf({ senders: ["paused", "retired"] }).fleet, input())).toEqual(wait);
    expect(routeMessage(fleetOf({ isDefault: true }, { status: "disabled", senders: ["active"] }).fleet, input())).toEqual(wait);
    // The default account's own senders, all paused, wait as any other.
    expect(routeMessage(fleetOf({ isDefault: true, senders: ["paused"] }).fleet, input())).toEqual(wait);
  });

  it("is not used by a user with senders of their own, nor when the default account is disabled", () => {
    const wait = { kind: "wait", reason: "no_active_sender" };
    expect(routeMessage(fleetOf({ isDefault: true }, { owner: USER, senders: ["paused"] }).fleet, input())).toEqual(wait);
    expect(routeMessage(fleetOf({ isDefault: true, status: "disabled" }).fleet, input())).toEqual(wait);
  });
});

describe("routeMessage: candidates", () => {
  it("routes a user with senders of their own through the usable ones only, never the shared ones", () => {
    const { fleet, senderIds } = fleetOf({ senders: ["active", "active"] }, { owner: USER, senders: ["active", "paused", "active"] });
    const [, mine] = senderIds;
    expect(candidatesOf(routeMessage(fleet, input()))).toEqual([mine![0], mine![2]]);
    // Another user (none of their own) gets the shared ones.
    expect(candidatesOf(routeMessage(fleet, input({ userId: randomUUID() })))).toEqual(senderIds[0]);
  });

  it("puts the sticky sender first and asks the budgets to prefer it", () => {
    const { fleet, senderIds } = fleetOf({ senders: ["active", "active", "active"] });
    const [shared] = senderIds;
    const route = routeMessage(fleet, input({ stickySenderId: shared![2]! }));
    expect(route).toMatchObject({ kind: "budget", request: { preferFirst: true } });
    expect(candidatesOf(route)).toEqual([shared![2], shared![0], shared![1]]);
  });

  it("tries a re-attempt on another sender than the one before, even a sticky one, unless it is the only one", () => {
    const { fleet, senderIds } = fleetOf({ senders: ["active", "active", "active"] });
    const [a, b, c] = senderIds[0]!;
    expect(candidatesOf(routeMessage(fleet, input({ avoidSenderId: a! })))).toEqual([b, c]);
    expect(candidatesOf(routeMessage(fleet, input({ avoidSenderId: b!, stickySenderId: b! })))).toEqual([a, c]);
    const lone = fleetOf({ senders: ["active", "paused"] });
    const [only] = lone.senderIds[0]!;
    expect(candidatesOf(routeMessage(lone.fleet, input({ avoidSenderId: only! })))).toEqual([only]);
  });

  it("sends a pinned message through its sender only, and waits while that sender cannot send", () => {
    const { fleet, senderIds } = fleetOf(
      { senders: ["active", "paused", "offline", "retired", "active"] },
      { status: "disabled", senders: ["active"] },
    );
    const [[active, paused, offline, retired], [onDisabled]] = senderIds as [string[], string[]];
    const pinned = (id: string) => routeMessage(fleet, input({ pinnedSenderId: id }));
    expect(pinned(active!)).toMatchObject({ kind: "budget", request: { candidates: [{ id: active }], preferFirst: true } });
    expect(pinned(paused!)).toEqual({ kind: "wait", reason: "paused" });
    expect(pinned(offline!)).toEqual({ kind: "wait", reason: "sender_offline" });
    expect(pinned(retired!)).toEqual({ kind: "wait", reason: "no_active_sender" });
    expect(pinned(onDisabled!)).toEqual({ kind: "wait", reason: "no_active_sender" });
    // A pinned sender that is gone waits too: never the implicit sender, never another one.
    expect(pinned(randomUUID())).toEqual({ kind: "wait", reason: "no_active_sender" });
  });
});
