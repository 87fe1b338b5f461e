export { ItemFailure, MicroBatcher, type MicroBatcherOptions } from "./micro-batcher";
export { withTimeout } from "./timeout";
