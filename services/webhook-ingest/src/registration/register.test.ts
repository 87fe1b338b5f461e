import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSmsGateDriver, type GatewayDriver } from "@inboxerr/gateway";
import { createLogger } from "@inboxerr/logger";
import { waitFor } from "@inboxerr/testing";
import { createSimulatorApp } from "@inboxerr/gateway-simulator";
import { CREDENTIALS, startSimulator } from "@inboxerr/gateway-simulator/testing";
import { startWebhookRegistration } from "./background";
import { registerWebhooks, REGISTERED_EVENTS, webhookIdFor } from "./register";

const logger = createLogger({ service: "registration-test", level: "silent" });
const URL_OURS = "http://127.0.0.1:3001/webhooks/sms-gate";
const driverFor = (api: string, deviceId?: string): GatewayDriver =>
  createSmsGateDriver({ baseUrl: api, ...CREDENTIALS, timeoutMs: 2_000, ...(deviceId ? { deviceId } : {}) });

describe("registerWebhooks", () => {
  let gateway: Awaited<ReturnType<typeof startSimulator>>;
  beforeAll(async () => {
    gateway = await startSimulator();
  });
  afterAll(() => gateway.close());

  it("registers every event we act on under fixed ids, so registering again replaces instead of adding", async () => {
    const driver = driverFor(gateway.api);
    await registerWebhooks(driver, { url: "http://old.example/webhooks/sms-gate" });
    const { registered } = await registerWebhooks(driver, { url: URL_OURS });
    expect(registered.map((w) => w.id)).toEqual(REGISTERED_EVENTS.map(webhookIdFor));
    const hooks = await driver.listWebhooks();
    expect(hooks.filter((w) => w.id.startsWith("inboxerr-")).sort((a, b) => a.event.localeCompare(b.event))).toEqual(
      [...REGISTERED_EVENTS].sort().map((event) => ({ id: webhookIdFor(event), url: URL_OURS, event, deviceId: null })),
    );
  });

  it("replaces an older install's registration pinned to one device with one for every device, and deletes strays that would double-deliver", async () => {
    const driver = driverFor(gateway.api);
    await driver.registerWebhook({ id: webhookIdFor("sms:sent"), url: URL_OURS, event: "sms:sent", deviceId: "phone-7" });
    const stray = await driver.registerWebhook({ url: URL_OURS, event: "sms:delivered" });
    const { pruned } = await registerWebhooks(driver, { url: URL_OURS });
    expect(pruned).toEqual([stray.id]);
    const ours = (await driver.listWebhooks()).filter((w) => w.url === URL_OURS);
    expect(ours).toHaveLength(REGISTERED_EVENTS.length);
    expect(ours.every((w) => w.deviceId === null && w.id.startsWith("inboxerr-"))).toBe(true);
  });
});

describe("startWebhookRegistration", () => {
  it("keeps retrying with backoff until the gateway comes up", async () => {
    // A port with nobody listening: the gateway is not up yet.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const api = `http://127.0.0.1:${port}/3rdparty/v1`;
    const states: boolean[] = [];
    const loop = startWebhookRegistration({
      register: () => registerWebhooks(driverFor(api), { url: URL_OURS }),
      logger,
      onState: (ok) => states.push(ok),
      initialDelayMs: 20,
      maxDelayMs: 100,
    });
    let sim: ReturnType<typeof createSimulatorApp> | undefined;
    let server: Server | undefined;
    try {
      // Start the gateway once registration has failed at least twice.
      await waitFor(() => states.length >= 2, { message: "two failed attempts" });
      sim = createSimulatorApp({ ...CREDENTIALS, signingKey: "sim-signing-key-0123456789" });
      server = createServer(sim.app);
      await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
      expect(await loop.done).toBe(true);
      expect(states.at(-1)).toBe(true);
      expect(states.filter((s) => !s).length).toBeGreaterThanOrEqual(2);
      expect((await driverFor(api).listWebhooks()).map((w) => w.id).sort()).toEqual(REGISTERED_EVENTS.map(webhookIdFor).sort());
    } finally {
      loop.stop();
      await sim?.close();
      if (server) await new Promise((resolve) => server!.close(resolve));
    }
  });

  it("stops retrying when stopped", async () => {
    let attempts = 0;
    const loop = startWebhookRegistration({
      register: async () => {
        attempts += 1;
        throw new Error("gateway down");
      },
      logger,
      initialDelayMs: 60_000,
    });
    loop.stop();
    expect(await loop.done).toBe(false);
    expect(attempts).toBe(1);
  });
});
