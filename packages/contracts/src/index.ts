export {
  QUEUE_NAMES,
  MESSAGE_STATUS_VALUES,
  JOB_DEFAULTS,
  smsSendJobSchema,
  messageEventJobSchema,
  toQueuePriority,
  toEventJob,
  type OutboxEvent,
  type QueueName,
  type SmsSendJob,
  type MessageEventJob,
} from "./queues";
export { createRedis } from "./redis";
export { createQueue, createWorker, enqueueSends, publishEvents, type QueueContext, type SendToEnqueue } from "./factories";
export { toJobError, jobErrorMessage, MAX_JOB_ERROR_LENGTH } from "./job-errors";
export { createOutageGuard, type OutageGuard, type OutageGuardOptions } from "./outage";
