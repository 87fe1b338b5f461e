import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSends } from "@inboxerr/contracts";
import { createDb, type Db } from "@inboxerr/db";
import { createTestUser, insertMessages, createPrivateDatabase, waitFor } from "@inboxerr/testing";
import { startGateway, startSender, testPrefix } from "../testing/harness";
import { allIn } from "../testing/messages";

// A database of its own: routing reads every shared sender in its database (ADR 0019), and
// other files' shared test senders must not carry this file's sends.
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  database = await createPrivateDatabase();
  ({ db, close } = createDb(database.url, { max: 4 }));
});
afterAll(async () => {
  await close();
  await database.drop();
});

/** The most timestamps that fall in any window [t, t + widthMs). */
function busiestWindow(stamps: number[], widthMs: number): number {
  const sorted = [...stamps].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= widthMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe("SENDER_RATE_LIMIT", () => {
  it("holds two replicas together to 50 sends per second at the gateway", async () => {
    const gateway = await startGateway();
    const prefix = testPrefix();
    // Two replicas of one deployment: same queue, each with room for far more than 50 at once.
    const env = { SENDER_RATE_LIMIT: "50", SENDER_CONCURRENCY: "50" };
    const replicas = [await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix, env }), await startSender({ databaseUrl: database.url, gatewayUrl: gateway.url, prefix, env })];
    try {
      const user = await createTestUser(db);
      const rows = await insertMessages(db, user.id, 200);
      await enqueueSends(replicas[0]!.sender.sendQueue, rows);
      await waitFor(() => allIn(db, user.id, "accepted", 200), { timeoutMs: 20_000, message: "200 accepted" });

      const arrived = gateway.accepted;
      expect(arrived.size).toBe(200);
      const queue = replicas[0]!.sender.sendQueue;
      await waitFor(async () => (await queue.getCompletedCount()) === 200);
      const jobs = await queue.getJobs(["completed"], 0, -1);
      const started = new Map(jobs.map((j) => [j.id!, j.processedOn ?? 0]));

      // What the limiter controls: job starts. It admits 5 per 100 ms window (limiterFor(50))
      // in one Redis key for the queue, so a sliding second holds at most 10 windows: 50.
      // One window of slack: processedOn is read on the worker's clock before the fetch.
      expect(busiestWindow([...started.values()], 1_000)).toBeLessThanOrEqual(55);

      // What the gateway saw. A request reaches it some ms after its job started (claim batch,
      // HTTP), and that delay varies with load, so a window's requests can slide into the next
      // window's second. Allowed: the limit, plus one window for the edge, plus one window per
      // 100 ms of spread in that delay as measured in this very run (a quiet run: 55 seen).
      const lags = [...arrived].map(([id, at]) => at - (started.get(id) ?? 0));
      const spread = Math.max(...lags) - Math.min(...lags);
      expect(busiestWindow([...arrived.values()], 1_000)).toBeLessThanOrEqual(50 + 5 * (1 + Math.ceil(spread / 100)));
      // And the mean rate over the 40 windows 200 messages need stays at the limit (+5%).
      const starts = [...started.values()];
      const spanMs = Math.max(...starts) - Math.min(...starts) + 100;
      expect(200 / (spanMs / 1_000)).toBeLessThanOrEqual(52.5);
      // Both replicas did part of the work: the limit held across them, not within one.
      const done = await Promise.all(replicas.map((r) => r.registry.getSingleMetricAsString("inboxerr_sender_sends_total")));
      for (const text of done) expect(text).toMatch(/result="accepted"} [1-9]/);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await gateway.close();
    }
  });
});
