import { AppError } from "@inboxerr/http";
import { isUuid } from "../http/ids";

/** Postgres renders created_at with microseconds, which a JS Date would round away. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export type Cursor = { createdAt: string; id: string };

/** Opaque to clients: base64url of the last row's exact (created_at, id). */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt}|${c.id}`).toString("base64url");
}

export function decodeCursor(value: string): Cursor {
  const [createdAt, id, extra] = Buffer.from(value, "base64url").toString("utf8").split("|");
  if (extra !== undefined || !createdAt || !id || !TIMESTAMP.test(createdAt) || !isUuid(id)) {
    throw new AppError("validation_failed", "The cursor is not one this API issued", {
      errors: [{ path: "cursor", detail: "invalid cursor" }],
    });
  }
  return { createdAt, id };
}
