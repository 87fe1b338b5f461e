export { ItemFailure, MicroBatcher, type MicroBatcherOptions } from "./micro-batcher";
export { waitAtMost, withTimeout } from "./timeout";
