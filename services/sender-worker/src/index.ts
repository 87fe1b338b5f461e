// The package's surface, for tooling that wires the sender in-process (benchmarks).
// Services never import each other: they meet through Postgres and the queues.
export { createSenderWorker, DEFAULT_TUNING, type SenderTuning, type SenderWorker, type SenderWorkerDeps } from "./app";
export { SENDER_CONFIG_KEYS, type SenderConfig } from "./config";
export { createOpsApp } from "./ops";
