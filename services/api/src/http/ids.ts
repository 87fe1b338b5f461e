import { notFound } from "@inboxerr/http";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID cannot name anything: 404 like any unknown id, not a 500 from Postgres. */
export function resourceId(id: string, what: string): string {
  if (!UUID.test(id)) throw notFound(what);
  return id.toLowerCase();
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
