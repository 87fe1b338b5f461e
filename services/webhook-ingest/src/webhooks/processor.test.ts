import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { Registry } from "prom-client";
import { createDb, messages, type DbHandle } from "@inboxerr/db";
import { createTestUser, insertMessages, testEnv } from "@inboxerr/testing";
import { createIngestInstruments } from "../prometheus";
import type { IncomingWebhook } from "./parse";
import { createWebhookProcessor } from "./processor";

let database: DbHandle;
beforeAll(() => {
  database = createDb(testEnv().databaseUrl);
});
afterAll(() => database.close());

const sent = (messageId: string, at: Date): IncomingWebhook => ({
  envelopeId: randomUUID(),
  event: "sms:sent",
  deviceId: "d",
  messageId,
  json: "{}",
  action: { kind: "report", messageId, report: { kind: "sent", at, partsCount: undefined } },
});

describe("createWebhookProcessor", () => {
  it("fails a webhook Postgres refuses alone, while the webhooks batched with it are applied", async () => {
    const processor = createWebhookProcessor({
      pool: database.pool,
      publisher: { publish: () => undefined, close: async () => undefined },
      reattempts: { enqueue: () => undefined, close: async () => undefined },
      metrics: createIngestInstruments(new Registry()),
    });
    try {
      const user = await createTestUser(database.db);
      const msgs = await insertMessages(database.db, user.id, 20, { status: "accepted" });
      const [victim] = await insertMessages(database.db, user.id, 1, { status: "accepted" });
      // parseWebhook never hands over year 0 (a valid JavaScript date, not a Postgres
      // timestamptz), but whatever still slips through must not take its batch-mates with it.
      const answers = await Promise.allSettled([
        ...msgs.map((m) => processor.submit(sent(m.id, new Date()))),
        processor.submit(sent(victim!.id, new Date("0000-01-01T00:00:00Z"))),
      ]);
      expect(answers.slice(0, -1).map((a) => (a.status === "fulfilled" ? a.value : a.reason))).toEqual(msgs.map(() => "applied"));
      const last = answers.at(-1)!;
      expect(last.status).toBe("rejected");
      // A data exception (SQLSTATE class 22): the edge answers it with 400 problem+json.
      expect((last as PromiseRejectedResult).reason).toMatchObject({ code: expect.stringMatching(/^22/) });
      const status = async (id: string) => (await database.db.select().from(messages).where(eq(messages.id, id)))[0]!.status;
      for (const m of msgs) expect(await status(m.id)).toBe("sent");
      expect(await status(victim!.id)).toBe("accepted");
    } finally {
      await processor.close();
    }
  });
});
