export { createMetricsWorker, type MetricsWorker, type MetricsWorkerOptions } from "./app";
