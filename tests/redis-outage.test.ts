/**
 * Issue #3's promise across two services: with Redis unreachable the api still answers a
 * send 202 and leaves the row `queued`; once Redis is back, the sender's sweeper is all it
 * takes for the message to go out, exactly once.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "@inboxerr/db";
import { createPrivateDatabase, startTcpProxy, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
// Test-only wiring of each service, through its test harness: the services never import each other.
import { startTestApi, type TestApi } from "@inboxerr/api/testing";
import { startGateway, startSender, type TestSender } from "@inboxerr/sender-worker/testing";

let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let api: TestApi;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sender: TestSender | undefined;
const prefix = `${testEnv().queuePrefix}:outage-${uniqueSuffix()}`;

beforeAll(async () => {
  database = await createPrivateDatabase();
  proxy = await startTcpProxy(Number(new URL(testEnv().redisUrl).port || 6379));
  api = await startTestApi({ config: { DATABASE_URL: database.url, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, QUEUE_PREFIX: prefix } });
  gateway = await startGateway();
});

afterAll(async () => {
  await sender?.close();
  await api?.stop();
  await gateway?.close();
  await database?.drop();
});

describe("a send made while Redis is down", () => {
  it("is answered 202, stays queued, and goes out once via the sweeper when Redis returns", async () => {
    const { token } = await api.user();
    await proxy.cut();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "sent during an outage" } });
    expect(sent.status).toBe(202);
    expect(sent.ms).toBeLessThan(2_000);
    const row = async () => (await api.db.db.select().from(messages).where(eq(messages.id, sent.body.id)))[0];
    expect((await row())?.status).toBe("queued");

    // Redis is back, but the api's job was never added: only the sweeper can find the message.
    sender = await startSender({ gatewayUrl: gateway.url, prefix, databaseUrl: database.url, tuning: { sweeperGraceMs: 0 } });
    expect(await sender.sender.runSweeperOnce()).toMatchObject({ reenqueued: { queued: 1 } });
    await waitFor(async () => (await row())?.status === "accepted", { timeoutMs: 15_000, message: "the swept message was never accepted" });

    const stats = await gateway.stats();
    expect(stats.sendsById).toEqual({ [sent.body.id]: 1 });
    expect(stats.totalSends).toBe(1);
  });
});
