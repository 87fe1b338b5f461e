import type { Logger } from "@inboxerr/logger";
import type { Dispatcher } from "../delivery/dispatcher";
import { createEmitter, type Emit } from "../delivery/emitter";
import { createLifecycle, type Lifecycle } from "../delivery/lifecycle";
import { createMessageStore, type MessageStore } from "../messages/store";
import { createThrottle, type Throttle } from "../messages/throttle";
import type { SimulatorInstruments } from "../prometheus";
import { createWebhookRegistry, type WebhookRegistry } from "../webhooks/registry";
import { createDevices, legacyDeviceId, zeroCounts, type Device } from "./devices";

export type AccountSpec = { username: string; password: string; signingKey?: string };

/** One SMS Gate account: its own phones, messages, webhooks, signing key, throttle and stats. */
export type Account = {
  username: string;
  password: string;
  signingKey: string;
  devices: Device[];
  store: MessageStore;
  registry: WebhookRegistry;
  emit: Emit;
  lifecycle: Lifecycle;
  throttle: Throttle;
};

type FleetOptions = {
  primary: AccountSpec & { signingKey: string };
  /** Further accounts (SIMULATOR_ACCOUNTS); their signing key defaults to the primary's. */
  accounts: AccountSpec[];
  devicesPerAccount: number;
  simsPerDevice: number;
  /** The primary account's first device, when pinned (SMSGATE_DEVICE_ID). */
  deviceId?: string;
  seed: string;
  latencyMs: number;
  failureRate: number;
  rateLimit: number;
  maxStoredMessages: number;
  utcOffsetMinutes: number;
  throttleClock?: () => number;
  clock: () => number;
  dispatcher: Dispatcher;
  metrics: SimulatorInstruments;
  logger: Logger;
};

/** Every simulated account, by username; the primary one is what part 1 had. */
export function createFleet(opts: FleetOptions) {
  const byUsername = new Map<string, Account>();

  function add(spec: AccountSpec): Account {
    if (byUsername.has(spec.username)) throw new Error(`account ${spec.username} already exists`);
    const signingKey = spec.signingKey ?? opts.primary.signingKey;
    const registry = createWebhookRegistry();
    const emit = createEmitter(registry, opts.dispatcher, signingKey);
    const devices = createDevices({
      seed: opts.seed,
      username: spec.username,
      count: opts.devicesPerAccount,
      simsPerDevice: opts.simsPerDevice,
      now: opts.clock(),
      firstId: byUsername.size === 0 ? (opts.deviceId ?? legacyDeviceId(opts.seed)) : undefined,
    });
    const store = createMessageStore({ maxMessages: opts.maxStoredMessages, devices: () => devices });
    const lifecycle = createLifecycle({
      latencyMs: opts.latencyMs,
      failureRate: opts.failureRate,
      seed: opts.seed,
      utcOffsetMinutes: opts.utcOffsetMinutes,
      clock: opts.clock,
      emit,
      store,
      metrics: opts.metrics,
    });
    const account: Account = {
      username: spec.username,
      password: spec.password,
      signingKey,
      devices,
      store,
      registry,
      emit,
      lifecycle,
      throttle: createThrottle(opts.rateLimit, opts.throttleClock),
    };
    byUsername.set(spec.username, account);
    return account;
  }

  const primary = add(opts.primary);
  for (const spec of opts.accounts) add(spec);

  return {
    primary,
    add,
    get: (username: string) => byUsername.get(username),
    all: () => [...byUsername.values()],
    /** A device of any account, for control endpoints that name only the device. */
    findDevice(deviceId: string): { account: Account; device: Device } | undefined {
      for (const account of byUsername.values()) {
        const device = account.devices.find((d) => d.id === deviceId);
        if (device) return { account, device };
      }
      return undefined;
    },
    /** POST /simulator/reset: messages, counts and usage go; accounts, devices, limits and webhooks stay. */
    reset(): void {
      for (const account of byUsername.values()) {
        account.lifecycle.clear();
        account.store.reset();
        account.throttle.reset();
        for (const device of account.devices) {
          device.online = true;
          device.offlineSince = null;
          device.fetched = false;
          device.counts = zeroCounts();
          for (const sim of device.sims) {
            sim.usedToday = 0;
            sim.counts = zeroCounts();
          }
        }
      }
    },
  };
}

export type Fleet = ReturnType<typeof createFleet>;

/** `SIMULATOR_ACCOUNTS`: "user:pass[:signingKey],user2:pass2" (no ':' or ',' inside a field). */
export function parseAccounts(value: string): AccountSpec[] {
  return value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const [username, password, signingKey] = entry.split(":");
      if (!username || !password) throw new Error(`SIMULATOR_ACCOUNTS: "${entry}" is not user:pass[:signingKey]`);
      return { username, password, ...(signingKey ? { signingKey } : {}) };
    });
}
