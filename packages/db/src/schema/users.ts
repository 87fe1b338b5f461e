import { sql } from "drizzle-orm";
import { check, index, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, sqlList, timestamps, tstz, uuidPk } from "./util";

export const USER_ROLES = ["user", "admin"] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const users = pgTable(
  "users",
  {
    ...uuidPk(),
    // Stored lowercased (enforced by a CHECK) so the unique index is case-insensitive.
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    name: text("name"),
    role: text("role", { enum: USER_ROLES }).notNull().default("user"),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex("users_email_idx").on(t.email),
    check("users_email_lowercase_check", sql`${t.email} = lower(${t.email})`),
    check("users_role_check", sql`${t.role} in ${sqlList(USER_ROLES)}`),
  ],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    ...uuidPk(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    // The key's leading characters: the lookup key, so a request costs one indexed read.
    prefix: text("prefix").notNull(),
    // SHA-256 hex of the full key: keys are high-entropy, so a fast hash is safe (no bcrypt).
    keyHash: text("key_hash").notNull(),
    ...createdAt(),
    lastUsedAt: tstz("last_used_at"),
    revokedAt: tstz("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_prefix_idx").on(t.prefix), index("api_keys_user_id_idx").on(t.userId)],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type ApiKey = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;
