// What other packages' tests and services wire in-process (the event sources call fanOut); no service imports it at run time.
export { createWebhookDispatcher, type WebhookDispatcher, type WebhookDispatcherOptions } from "./app";
export type { FanOut } from "./fanout/fanout";
export type { DeriveEvents } from "./fanout/message-events";
export type { EventSource } from "./fanout/sources";
