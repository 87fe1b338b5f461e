export { createWebhookIngest, type WebhookIngest, type WebhookIngestOptions } from "./app";
export { registerWebhooks, REGISTERED_EVENTS, webhookIdFor, type RegistrationResult } from "./registration/register";
export { startWebhookRegistration, type RegistrationLoop } from "./registration/background";
