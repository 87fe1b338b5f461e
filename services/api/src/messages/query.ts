// The message row the api reads and shows is shared with the webhook-dispatcher (ADR 0023):
// one implementation in @inboxerr/webhooks, re-exported here for the routes.
export { loadMessageRow, messageRowFields, senderOfMessage } from "@inboxerr/webhooks";
