import { sql, type AnyColumn, type SQL } from "drizzle-orm";
import { AppError } from "@inboxerr/http";
import { isUuid } from "../http/ids";

/** Postgres renders timestamps with microseconds, which a JS Date would round away. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The last row's sort key: its timestamp (created_at, received_at, ...) exact to the µs, and its id. */
export type Cursor = { at: string; id: string };

/** Opaque to clients: base64url of the last row's exact (timestamp, id). */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.at}|${c.id}`).toString("base64url");
}

export function decodeCursor(value: string): Cursor {
  const [at, id, extra] = Buffer.from(value, "base64url").toString("utf8").split("|");
  if (extra !== undefined || !at || !id || !TIMESTAMP.test(at) || !isUuid(id)) {
    throw new AppError("validation_failed", "The cursor is not one this API issued", {
      errors: [{ path: "cursor", detail: "invalid cursor" }],
    });
  }
  return { at, id };
}

/** A timestamp column as a cursor's `at`: exact to the microsecond and in UTC whatever the session time zone. */
export function cursorTimestamp(column: AnyColumn): SQL<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
