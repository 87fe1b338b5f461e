export {
  QUEUE_NAMES,
  OUTBOX_QUEUES,
  OUTBOX_QUEUE_STATUSES,
  CUSTOMER_VISIBLE_STATUSES,
  queueTakes,
  MESSAGE_STATUS_VALUES,
  JOB_DEFAULTS,
  sendJobId,
  smsSendJobSchema,
  messageEventJobSchema,
  messageEventBatchJobSchema,
  OUTBOX_EVENTS_PER_JOB,
  toQueuePriority,
  toEventJob,
  type OutboxEvent,
  type QueueName,
  type OutboxQueueName,
  type CustomerVisibleStatus,
  type SmsSendJob,
  type MessageEventJob,
  type MessageEventBatchJob,
  type OutboxJobData,
} from "./queues";
export { readEventJob, takeEventJob, type EventJobEvents, type ReadEventJob, type InvalidEvent } from "./event-jobs";
export { createRedis } from "./redis";
export {
  createQueue,
  createWorker,
  enqueueSends,
  createOutboxQueues,
  eventBulkJobs,
  singleEventJob,
  type OutboxQueues,
  type QueueContext,
  type SendToEnqueue,
} from "./factories";
export { toJobError, jobErrorMessage, MAX_JOB_ERROR_LENGTH } from "./job-errors";
export { createOutageGuard, type OutageGuard, type OutageGuardOptions } from "./outage";
