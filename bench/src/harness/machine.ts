import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";
import { Redis } from "ioredis";
import { withAdminClient } from "@inboxerr/testing";
import { redisUrl, serverUrl } from "./env";

/** The machine the figures belong to: printed with every run and recorded in docs/benchmarks.md. */
export async function describeMachine(): Promise<string> {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(safeRead("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
  const postgres = await withAdminClient(serverUrl(), (c) => c.query<{ v: string }>("select current_setting('server_version') as v")).then(
    (r) => r.rows[0]?.v ?? "?",
    () => "?",
  );
  const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on("error", () => undefined);
  const redisVersion = await redis
    .connect()
    .then(() => redis.info("server"))
    .then((info) => /redis_version:(\S+)/.exec(info)?.[1] ?? "?", () => "?")
    .finally(() => redis.disconnect());
  const load = loadavg().map((l) => l.toFixed(2)).join(" ");
  return [
    `machine: ${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${load}`,
    `software: node ${process.version}, PostgreSQL ${postgres}, Redis ${redisVersion}, ${process.platform}/${process.arch}`,
  ].join("\n");
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
