export { MicroBatcher, type MicroBatcherOptions } from "./micro-batcher";
export { withTimeout } from "./timeout";
