// Fixtures for this package's own tests. @inboxerr/testing depends on @inboxerr/db, so using
// it here would make a dependency cycle; these few helpers are duplicated instead.
import { randomBytes } from "node:crypto";
import { createDb, type DbHandle, type DbOrTx } from "./client";
import { gatewayAccounts, senders, type Sender } from "./schema/fleet";
import { messages, type Message, type NewMessage } from "./schema/messages";
import { users, type User } from "./schema/users";

/** A pool on the run's scratch database; refuses anything else, since tests write rows. */
export function connectTestDb(max = 10): DbHandle {
  const url = process.env.DATABASE_URL ?? "";
  if (!new URL(url || "postgres://x/none").pathname.startsWith("/inboxerr_test_")) {
    throw new Error(`DATABASE_URL is not a test database (${url || "unset"}): run through vitest`);
  }
  return createDb(url, { max, applicationName: "inboxerr-db-tests" });
}

export const randomSuffix = () => randomBytes(6).toString("hex");

export async function insertUser(db: DbOrTx): Promise<User> {
  const [user] = await db
    .insert(users)
    .values({ email: `db-test-${randomSuffix()}@test.inboxerr.dev`, passwordHash: "x" })
    .returning();
  return user!;
}

/** A sender on an account of its own (owned by `userId`). */
export async function insertSender(db: DbOrTx, userId: string): Promise<Sender> {
  const [account] = await db
    .insert(gatewayAccounts)
    .values({ ownerUserId: userId, name: `db-test-${randomSuffix()}`, baseUrl: "https://gw.test.inboxerr.dev", username: "u" })
    .returning();
  const [sender] = await db.insert(senders).values({ accountId: account!.id, deviceId: `d-${randomSuffix()}` }).returning();
  return sender!;
}

export async function insertMessage(db: DbOrTx, userId: string, overrides: Partial<NewMessage> = {}): Promise<Message> {
  const [message] = await insertMessageRows(db, userId, 1, overrides);
  return message!;
}

export async function insertMessageRows(
  db: DbOrTx,
  userId: string,
  n: number,
  overrides: Partial<NewMessage> = {},
): Promise<Message[]> {
  const rows = Array.from({ length: n }, (_, i) => ({
    userId,
    to: `+447700900${String(i % 1000).padStart(3, "0")}`,
    text: "hello",
    encoding: "GSM-7" as const,
    segments: 1,
    status: "queued" as const,
    ...overrides,
  }));
  return db.insert(messages).values(rows).returning();
}
