import { createServer } from "node:net";

/** Ports below Linux's ephemeral range (32768+), shared out among the run's test workers. */
const LOW = 20_000;
const HIGH = 32_000;
const SLICES = 8;

/** Ports this process handed out: a service may not be listening on one yet when the next is picked. */
const handedOut = new Set<number>();

/**
 * A port that is free now, picked below Linux's ephemeral range (32768+). A port picked by
 * listening on 0 comes from that range, so between our check and the service's own listen,
 * any other test binding port 0 could take it (seen in CI: the api's port answered for
 * another test's server). Below the range only ports picked here compete: each vitest worker
 * (VITEST_POOL_ID) picks from a slice of its own, so two test files running at once never
 * pick the same port and start two services on it (seen in CI: two chaos runs' fleets), and a
 * process never hands out one port twice.
 */
export async function freePort(): Promise<number> {
  const pool = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0);
  const width = Math.floor((HIGH - LOW) / SLICES);
  const base = Number.isFinite(pool) && pool > 0 ? LOW + (pool % SLICES) * width : LOW;
  const span = Number.isFinite(pool) && pool > 0 ? width : HIGH - LOW;
  for (;;) {
    const port = base + Math.floor(Math.random() * span);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((res) => {
      const srv = createServer();
      srv.once("error", () => res(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
}
