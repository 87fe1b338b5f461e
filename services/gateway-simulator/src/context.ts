import type { Logger } from "@inboxerr/logger";
import type { Dispatcher } from "./delivery/dispatcher";
import type { Emit } from "./delivery/emitter";
import type { Lifecycle } from "./delivery/lifecycle";
import type { MessageStore } from "./messages/store";
import type { Throttle } from "./messages/throttle";
import type { SimulatorInstruments } from "./prometheus";
import type { WebhookRegistry } from "./webhooks/registry";

/** What route handlers share; built once per simulator by createSimulatorApp. */
export type SimContext = {
  logger: Logger;
  metrics: SimulatorInstruments;
  store: MessageStore;
  registry: WebhookRegistry;
  dispatcher: Dispatcher;
  lifecycle: Lifecycle;
  emit: Emit;
  throttle: Throttle;
  rateLimit: number;
  /** The device that sends when a request names none. */
  deviceId: string;
  utcOffsetMinutes: number;
  /** False once close() began: /readyz answers 503. */
  isReady: () => boolean;
};
