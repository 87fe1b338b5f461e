export {
  QUEUE_NAMES,
  MESSAGE_STATUS_VALUES,
  JOB_DEFAULTS,
  smsSendJobSchema,
  messageEventJobSchema,
  toQueuePriority,
  type QueueName,
  type SmsSendJob,
  type MessageEventJob,
} from "./queues";
export { createRedis } from "./redis";
export { createQueue, createWorker, enqueueSends, publishEvents, type QueueContext, type SendToEnqueue } from "./factories";
