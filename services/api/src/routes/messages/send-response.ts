import type { Response } from "express";
import type { StoredResponse } from "../../send/idempotency";

/** Writes a send's response; a replay says so, as Stripe's `Idempotent-Replayed` does. */
export function sendIdempotently(res: Response, result: StoredResponse & { replayed: boolean }): void {
  if (result.replayed) res.setHeader("Idempotent-Replayed", "true");
  res.status(result.status).json(result.body);
}
