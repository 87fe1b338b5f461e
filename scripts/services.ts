/**
 * The processes that make up Inboxerr, in start order, and the one command each runs.
 * `pnpm start`, the end-to-end test, the benchmarks and docker-compose.yml all use this list
 * (a test checks the compose file against it).
 */
export const SERVICES = [
  { name: "gateway-simulator", dir: "services/gateway-simulator", port: "SIMULATOR_PORT", nodeArgs: [] },
  { name: "webhook-ingest", dir: "services/webhook-ingest", port: "WEBHOOK_INGEST_PORT", nodeArgs: [] },
  // V8 grows the heap freely while bulks allocate fast; a cap makes it collect sooner. Measured
  // with pnpm bench ingest: peak RSS 355 MB uncapped, 215 MB capped, same throughput.
  { name: "api", dir: "services/api", port: "API_PORT", nodeArgs: ["--max-old-space-size=256"] },
  { name: "sender-worker", dir: "services/sender-worker", port: "SENDER_PORT", nodeArgs: [] },
  { name: "metrics-worker", dir: "services/metrics-worker", port: "METRICS_WORKER_PORT", nodeArgs: [] },
  { name: "webhook-dispatcher", dir: "services/webhook-dispatcher", port: "WEBHOOK_DISPATCHER_PORT", nodeArgs: [] },
] as const;

export type ServiceName = (typeof SERVICES)[number]["name"];

/** Each service's entry and the bundle built from it, relative to its directory. */
export const SERVICE_ENTRY = "src/main.ts";
export const SERVICE_BUNDLE = "dist/main.js";

/**
 * What a service's `start` script runs, from its own directory: the bundle `pnpm build` makes
 * (ADR 0007). Source maps put the TypeScript file and line in stack traces.
 */
export function serviceCommand(svc: { nodeArgs: readonly string[] }): string[] {
  return ["node", ...svc.nodeArgs, "--enable-source-maps", SERVICE_BUNDLE];
}

/** The one-shot migration, from packages/db: its bundle too (the image has no tsx to run it with). */
export const MIGRATE_DIR = "packages/db";
export const MIGRATE_BUNDLE = "dist/migrate-cli.js";
export const MIGRATE_COMMAND = ["node", "--enable-source-maps", MIGRATE_BUNDLE] as const;
