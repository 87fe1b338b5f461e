import type { RequestHandler } from "express";

/**
 * `POST /simulator/reset`: forgets messages, stats, the throttle and every pending or queued
 * event. Webhook registrations stay: receivers register once at boot.
 */
export function resetSimulator(reset: () => void): RequestHandler {
  return (_req, res) => {
    reset();
    res.status(204).end();
  };
}
