import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import type { Queue } from "bullmq";
import type { MessageEventJob } from "@inboxerr/contracts";
import { createDb, transition, type DbHandle, type MessageEvent } from "@inboxerr/db";
import { createTestUser, insertMessages, testDatabaseUrl } from "@inboxerr/testing";
import { eventsOf } from "../test/messages";
import { publishAndMark } from "./publish";

let handle: DbHandle;

beforeAll(() => {
  // One connection: what publishAndMark sets must be gone for the next statement on it.
  handle = createDb(testDatabaseUrl(), { max: 1 });
});
afterAll(async () => {
  await handle.close();
});

describe("publishAndMark", () => {
  it("stamps the published rows with an asynchronous commit that does not outlive its statement", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 3);
    const events: MessageEvent[] = [];
    for (const r of rows) {
      const event = await transition(handle.db, { messageId: r.id, to: "sending" });
      if (event) events.push(event);
    }
    expect(events).toHaveLength(3);
    const added: string[] = [];
    const queue = {
      addBulk: (jobs: { opts?: { jobId?: string } }[]) => {
        added.push(...jobs.map((j) => j.opts?.jobId ?? ""));
        return Promise.resolve([]);
      },
    };

    await publishAndMark({ db: handle.db, queue: queue as unknown as Queue<MessageEventJob> }, events.slice(0, 2));

    expect(added).toEqual(events.slice(0, 2).map((e) => e.id));
    const stored = await eventsOf(handle.db, rows.map((r) => r.id));
    const published = new Set(stored.filter((e) => e.publishedAt !== null).map((e) => e.id));
    expect(published).toEqual(new Set(events.slice(0, 2).map((e) => e.id)));
    const setting = await handle.db.execute<{ synchronous_commit: string }>(sql`show synchronous_commit`);
    expect(setting.rows[0]?.synchronous_commit).toBe("on");
  });
});
