export {
  createOutboxPublisher,
  publishAndMark,
  type DbPool,
  type OutboxPublisher,
  type OutboxPublisherOptions,
  type PublishTarget,
} from "./publish";
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "./relay";
