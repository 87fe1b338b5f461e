export { createOutboxPublisher, type OutboxPublisher, type OutboxPublisherOptions } from "./publish";
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "./relay";
