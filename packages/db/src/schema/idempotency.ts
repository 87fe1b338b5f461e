import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";
import { createdAt, tstz } from "./util";

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    // Hash of the request body: the same key with another body answers 422.
    requestHash: text("request_hash").notNull(),
    // Both NULL while the first request is in progress (a concurrent duplicate answers 409).
    responseStatus: integer("response_status"),
    responseBody: jsonb("response_body"),
    ...createdAt(),
    expiresAt: tstz("expires_at")
      .notNull()
      .default(sql`now() + interval '24 hours'`),
  },
  (t) => [
    // The primary key is the unique (user_id, key) that INSERT ... ON CONFLICT races on.
    primaryKey({ name: "idempotency_keys_pkey", columns: [t.userId, t.key] }),
    // Purging expired keys.
    index("idempotency_keys_expires_at_idx").on(t.expiresAt),
  ],
);

export type IdempotencyKey = typeof idempotencyKeys.$inferSelect;
export type NewIdempotencyKey = typeof idempotencyKeys.$inferInsert;
