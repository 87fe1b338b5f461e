import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { idempotencyKeys, type Db, type Tx } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";

export type StoredResponse = { status: number; body: unknown };

export type IdempotencyScope = {
  userId: string;
  /** The Idempotency-Key header; without one the work simply runs. */
  key: string | undefined;
  /** requestHash(...) of what was asked, so a reused key with another body is refused. */
  requestHash: string;
};

/**
 * Method, path and parsed body: the same request in other whitespace is still the same request.
 * JSON.stringify recurses, so it relies on jsonBody's depth bound (MAX_JSON_DEPTH): a body
 * nested 5,000 deep once overflowed the stack here.
 */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash("sha256").update(`${method} ${path}\n${JSON.stringify(body)}`).digest("hex");
}

/**
 * The text whose `hashtextextended(_, 0)` is the advisory lock marking a key as in flight
 * (exported so tests can hold it). 64-bit: collisions between keys are negligible.
 */
export function idempotencyLockName(userId: string, key: string): string {
  return `idempotency:${userId}:${key}`;
}

/**
 * Runs `work` in one transaction together with the idempotency record of its response, so
 * either both commit or neither does. A concurrent request with the same key finds the
 * transaction-scoped advisory lock taken and gets 409 instead of waiting; a later one
 * finds the committed record and gets the first response again (or 422 for another body).
 * An error inside `work` rolls everything back and records nothing, so the key can be retried.
 */
export async function runIdempotent(
  db: Db,
  scope: IdempotencyScope,
  work: (tx: Tx) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  return db.transaction(async (tx) => {
    const { userId, key } = scope;
    if (key === undefined) return { ...(await work(tx)), replayed: false };

    const locked = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(hashtextextended(${idempotencyLockName(userId, key)}, 0)) as locked`);
    if (!locked.rows[0]?.locked) {
      throw new AppError("conflict", "A request with this Idempotency-Key is still in progress; retry when it has finished");
    }
    const match = and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key));
    const [existing] = await tx
      .select({
        requestHash: idempotencyKeys.requestHash,
        status: idempotencyKeys.responseStatus,
        body: idempotencyKeys.responseBody,
        expired: sql<boolean>`${idempotencyKeys.expiresAt} <= now()`,
      })
      .from(idempotencyKeys)
      .where(match);
    if (existing && !existing.expired) {
      if (existing.requestHash !== scope.requestHash) {
        throw new AppError("unprocessable", "This Idempotency-Key was already used with a different request");
      }
      if (existing.status !== null) return { status: existing.status, body: existing.body, replayed: true };
    }
    // Expired, or left without a response by an older writer: this request takes the key over.
    if (existing) await tx.delete(idempotencyKeys).where(match);

    const response = await work(tx);
    await tx.insert(idempotencyKeys).values({
      userId,
      key,
      requestHash: scope.requestHash,
      responseStatus: response.status,
      responseBody: response.body,
    });
    return { ...response, replayed: false };
  });
}
