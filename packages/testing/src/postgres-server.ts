import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort } from "./ports";

const run = promisify(execFile);

/** Where Debian/Ubuntu put the server binaries (not on PATH); the newest version wins. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, "bin")).find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")));
}

export type PostgresServer = {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth). */
  url: string;
  port: number;
  /**
   * `pg_ctl restart -m fast`: every session is ended (57P01), then the server answers again.
   * With `downMs`, a stop and a start that far apart: an outage clients must ride out.
   */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** `pg_ctl stop -m fast`: every session is ended (57P01) and new connections are refused. */
  stop(): Promise<void>;
  /** Starts it again after stop(), same port and data. */
  start(): Promise<void>;
  /** Stops it (immediate) and deletes its data directory. */
  destroy(): Promise<void>;
  /** The server's own log, for diagnosing a failure. */
  log(): string;
};

/**
 * A throwaway Postgres server of the caller's own (initdb + pg_ctl in a temp directory, on a
 * free port), for tests that must restart or stop Postgres: the shared server is never touched.
 * initdb refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("no initdb/pg_ctl under /usr/lib/postgresql/*/bin");
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "inboxerr-pg-"));
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  chmodSync(dir, 0o700);
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  const as = (cmd: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]) : run(join(bin, cmd), args);

  await as("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await freePort();
  // Durability is not under test; fsync off keeps a loaded machine's disk out of the timings.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=300 -c fsync=off -c full_page_writes=off`;
  const ctl = (args: string[]) => as("pg_ctl", ["-D", data, "-l", logFile, "-w", "-t", "60", ...args]);
  await ctl(["-o", options, "start"]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-40).join("\n") : "");
  return {
    url,
    port,
    log,
    async restart({ downMs = 0 } = {}) {
      // -w: each returns once the server is down, or accepts connections again.
      if (downMs === 0) return void (await ctl(["-m", "fast", "restart"]));
      await ctl(["-m", "fast", "stop"]);
      await delay(downMs);
      await ctl(["-o", options, "start"]);
    },
    async stop() {
      await ctl(["-m", "fast", "stop"]);
    },
    async start() {
      await ctl(["-o", options, "start"]);
    },
    async destroy() {
      await ctl(["-m", "immediate", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
