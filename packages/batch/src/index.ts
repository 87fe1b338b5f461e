export { ItemFailure, MicroBatcher, type MicroBatcherOptions } from "./micro-batcher";
