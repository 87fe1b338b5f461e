import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, createRedis, enqueueSends, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { createDb, type Db } from "@inboxerr/db";
import { createSmsGateDriver, type GatewayDriver, type SendResult } from "@inboxerr/gateway";
import { createTestUser, insertMessages, createPrivateDatabase, testEnv, waitFor } from "@inboxerr/testing";
import { GATEWAY_CREDENTIALS, startGateway, startSender, testPrefix } from "../testing/harness";
import { messageRow } from "../testing/messages";

// A database of its own: routing reads every shared sender in its database (ADR 0019), and
// other files' shared test senders must not carry this file's sends.
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let db: Db;
let close: () => Promise<void>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
beforeAll(async () => {
  database = await createPrivateDatabase();
  ({ db, close } = createDb(database.url, { max: 4 }));
  gateway = await startGateway();
});
afterAll(async () => {
  await gateway.close();
  await close();
  await database.drop();
});

/** The real driver, but each answer is held until `release()` (or for `holdMs`). */
function heldDriver(holdMs: number) {
  const real = createSmsGateDriver({ baseUrl: gateway.url, ...GATEWAY_CREDENTIALS, timeoutMs: 5_000 });
  let started = 0;
  const releases: (() => void)[] = [];
  const driver: GatewayDriver = {
    ...real,
    async send(msg): Promise<SendResult> {
      started += 1;
      const result = await real.send(msg);
      await new Promise<void>((resolve) => {
        releases.push(resolve);
        setTimeout(resolve, holdMs).unref();
      });
      return result;
    },
  };
  return { driver, started: () => started, release: () => releases.splice(0).forEach((r) => r()) };
}

describe("graceful shutdown", () => {
  it("lets an in-flight send finish and records its answer before closing", async () => {
    const held = heldDriver(400);
    const s = await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix: testPrefix(), driver: held.driver });
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1);
    await enqueueSends(s.sender.sendQueue, [m!]);
    await waitFor(() => held.started() === 1);

    await s.close();

    expect((await messageRow(db, m!.id)).status).toBe("accepted");
  });

  it("stops waiting at the bound and leaves the unfinished job in Redis to run again", async () => {
    const held = heldDriver(60_000);
    const prefix = testPrefix();
    const s = await startSender({
      databaseUrl: database.url,
      gatewayUrl: gateway.url,
      prefix,
      driver: held.driver,
      env: { SMSGATE_TIMEOUT_MS: "300" },
      tuning: { shutdownMarginMs: 200 },
    });
    const user = await createTestUser(db);
    const [m] = await insertMessages(db, user.id, 1);
    await enqueueSends(s.sender.sendQueue, [m!]);
    await waitFor(() => held.started() === 1);

    const started = Date.now();
    await s.close();
    const took = Date.now() - started;
    held.release();

    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(3_000);
    // Still claimed (sending) and still active in Redis: BullMQ's stall check hands it to
    // another worker, whose send gets the gateway's 409 (tested in send.test.ts).
    expect((await messageRow(db, m!.id)).status).toBe("sending");
    const redis = createRedis(testEnv().redisUrl, "producer");
    const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection: redis, prefix });
    try {
      expect(await queue.getJobState(m!.id)).toBe("active");
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
