import { createServer } from "node:net";

/**
 * A port that is free now, picked below Linux's ephemeral range (32768+). A port picked by
 * listening on 0 comes from that range, so between our check and the service's own listen,
 * any other test binding port 0 could take it (seen in CI: the api's port answered for
 * another test's server). Below the range only fixed-port listeners compete, and tests use none.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((res) => {
      const srv = createServer();
      srv.once("error", () => res(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
    });
    if (free) return port;
  }
}
