import type { Response } from "express";
import type { Logger } from "@inboxerr/logger";
import type { Dispatcher } from "./delivery/dispatcher";
import type { Account, Fleet } from "./fleet/accounts";
import type { SimulatorInstruments } from "./prometheus";

/** What route handlers share; built once per simulator by createSimulatorApp. */
export type SimContext = {
  logger: Logger;
  metrics: SimulatorInstruments;
  dispatcher: Dispatcher;
  /** Every account; the 3rd-party API serves the one its Basic auth names. */
  fleet: Fleet;
  rateLimit: number;
  utcOffsetMinutes: number;
  /** Wall clock (epoch ms) for `lastSeen` and carrier days; injectable in tests. */
  clock: () => number;
  /** False once close() began: /readyz answers 503. */
  isReady: () => boolean;
};

/** The account the request authenticated as (set by basicAuth). */
export const accountOf = (res: Response): Account => res.locals.account as Account;
