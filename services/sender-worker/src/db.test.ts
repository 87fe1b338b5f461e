import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "@inboxerr/db";
import { testEnv } from "@inboxerr/testing";
import { SENDER_DB_OPTIONS } from "./db";

describe("sender database pool", () => {
  it("runs every statement under a 15 s statement timeout, so no micro-batch can hang on a lock", async () => {
    const { db, close } = createDb(testEnv().databaseUrl, { ...SENDER_DB_OPTIONS, max: 1 });
    try {
      const { rows } = await db.execute<{ timeout: string; app: string }>(
        sql`select current_setting('statement_timeout') as timeout, current_setting('application_name') as app`,
      );
      expect(rows[0]).toEqual({ timeout: "15s", app: "sender-worker" });
      expect(SENDER_DB_OPTIONS.queryTimeoutMs).toBeGreaterThan(SENDER_DB_OPTIONS.statementTimeoutMs);
    } finally {
      await close();
    }
  });
});
