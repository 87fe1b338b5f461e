import { messages, users, type DbOrTx, type Message, type NewMessage, type NewUser, type User } from "@inboxerr/db";
import { uniqueSuffix } from "./env";

/** A fresh user (tenant) per test: isolation by owner, not by truncating tables. */
export async function createTestUser(db: DbOrTx, overrides: Partial<NewUser> = {}): Promise<User> {
  const [user] = await db
    .insert(users)
    .values({
      email: `user-${uniqueSuffix()}@test.inboxerr.dev`,
      passwordHash: "not-a-real-hash",
      name: "Test User",
      ...overrides,
    })
    .returning();
  if (!user) throw new Error("createTestUser: insert returned no row");
  return user;
}

// Keeps each INSERT well below Postgres's 65,535 bind parameters.
const CHUNK = 1_000;

/** `n` queued messages owned by `userId`, to UK drama numbers (+447700900000..999). */
export async function insertMessages(
  db: DbOrTx,
  userId: string,
  n: number,
  overrides: Partial<NewMessage> = {},
): Promise<Message[]> {
  const now = new Date();
  const rows: NewMessage[] = Array.from({ length: n }, (_, i) => ({
    userId,
    to: `+447700900${String(i % 1000).padStart(3, "0")}`,
    text: `test message ${i}`,
    encoding: "GSM-7",
    segments: 1,
    status: "queued",
    queuedAt: now,
    ...overrides,
  }));
  const out: Message[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    out.push(...(await db.insert(messages).values(rows.slice(i, i + CHUNK)).returning()));
  }
  return out;
}
