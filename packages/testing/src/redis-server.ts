import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";
import { freePort } from "./ports";
import { waitFor } from "./wait-for";

/** Whether `redis-server` is on PATH. */
export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

export type RedisServer = {
  url: string;
  port: number;
  /**
   * SIGKILL, then a new empty server on the same port: what clients meet when Redis crashes
   * without persistence (or fails over to an empty replica). Every key is gone.
   */
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A redis-server of the caller's own on a free port, without persistence, for tests that must
 * crash Redis: the shared server is never touched.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"];
    const proc = spawn("redis-server", args, { stdio: "ignore" });
    child = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
        return answers(url);
      },
      { timeoutMs: 15_000, intervalMs: 100, message: `redis-server on port ${port}` },
    );
  };

  const kill = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, "exit");
    proc.kill(signal);
    await exited;
  };

  await start();
  return {
    url,
    port,
    async restartEmpty() {
      await kill("SIGKILL");
      await start();
    },
    stop: () => kill("SIGTERM"),
  };
}

async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {}); // the failing command reports it
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } finally {
    redis.disconnect();
  }
}

/**
 * Samples a Redis server's memory (INFO memory) every 250 ms until stopped, across restarts;
 * `stop()` gives the peak `used_memory` seen, in MB, and how many samples answered.
 */
export function sampleRedisMemory(url: string) {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on("error", () => {}); // Redis is down on purpose for a moment
  let peak = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const info = await client.info("memory").catch(() => "");
      // used_memory_peak covers spikes between samples, since this server's start.
      for (const m of info.matchAll(/^used_memory(?:_peak)?:(\d+)/gm)) peak = Math.max(peak, Number(m[1]));
      if (info) samples += 1;
      await delay(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      client.disconnect();
      return { peakMb: peak / 1024 / 1024, samples };
    },
  };
}
