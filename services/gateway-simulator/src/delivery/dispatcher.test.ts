import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "@inboxerr/logger";
import { waitFor } from "@inboxerr/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createSimulatorInstruments } from "../prometheus";
import { createDispatcher } from "./dispatcher";

const servers: Server[] = [];
const hung: ServerResponse[] = [];
afterEach(async () => {
  for (const res of hung.splice(0)) res.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function receiver(answer: (n: number, res: ServerResponse) => void) {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(++n, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/h`, count: () => n };
}

const dispatcher = (extra: Partial<Parameters<typeof createDispatcher>[0]> = {}) =>
  createDispatcher({
    signingKey: "k".repeat(16),
    logger: createLogger({ service: "test", level: "silent" }),
    metrics: createSimulatorInstruments({ defaultMetrics: false }),
    baseBackoffMs: 10,
    maxBackoffMs: 50,
    timeoutMs: 5000,
    maxInFlight: 4,
    maxPending: 1000,
    ...extra,
  });

describe("webhook dispatcher", () => {
  it("never has more than maxInFlight requests open at once", async () => {
    let open = 0;
    let peak = 0;
    const r = await receiver((_n, res) => {
      open += 1;
      peak = Math.max(peak, open);
      setTimeout(() => {
        open -= 1;
        res.end();
      }, 5);
    });
    const d = dispatcher({ maxInFlight: 4 });
    for (let i = 0; i < 40; i += 1) d.enqueue({ url: r.url, event: "sms:sent", body: `{"i":${i}}` });
    await waitFor(() => d.stats().delivered === 40);
    expect(peak).toBeLessThanOrEqual(4);
    d.close();
  });

  it("gives up on a hung receiver after timeoutMs and retries the event", async () => {
    const r = await receiver((n, res) => (n === 1 ? hung.push(res) : res.end()));
    const d = dispatcher({ timeoutMs: 100 });
    d.enqueue({ url: r.url, event: "sms:sent", body: "{}" });
    await waitFor(() => d.stats().delivered === 1, { timeoutMs: 5000 });
    expect(r.count()).toBe(2);
    expect(d.stats().failedAttempts).toBe(1);
    d.close();
  });

  it("drops events beyond maxPending instead of growing without bound", async () => {
    const r = await receiver((_n, res) => hung.push(res));
    const d = dispatcher({ maxPending: 5, maxInFlight: 2 });
    const accepted = Array.from({ length: 8 }, () => d.enqueue({ url: r.url, event: "sms:sent", body: "{}" }));
    expect(accepted.filter(Boolean)).toHaveLength(5);
    expect(d.stats()).toMatchObject({ inFlight: 2, queued: 3, dropped: 3 });
    d.close();
    expect(d.enqueue({ url: r.url, event: "sms:sent", body: "{}" })).toBe(false);
  });
});
