/** The benchmark stages, for running one from another script; `pnpm bench` is the entry point. */
export { drainStage } from "./stages/drain";
export { e2eStage } from "./stages/e2e";
export { ingestStage } from "./stages/ingest";
export { webhooksStage } from "./stages/webhooks";
export { formatStage, formatSummary, type StageResult } from "./harness/report";
