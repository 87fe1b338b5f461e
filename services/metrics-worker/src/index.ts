// What other packages' tests wire in-process (webhook-ingest's pipeline test); no service imports it at run time.
export { createMetricsWorker, type MetricsWorker } from "./app";
