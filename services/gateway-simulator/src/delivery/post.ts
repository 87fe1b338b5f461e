import http from "node:http";
import https from "node:https";

/**
 * POSTs over node:http with keep-alive agents. Cheaper per request than fetch (no web
 * streams or abort-signal plumbing), which matters when a benchmark needs 100,000+ webhooks
 * out of this process; `maxSockets` caps connections per receiver.
 */
export function createPoster(maxSockets: number) {
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets }),
    "https:": new https.Agent({ keepAlive: true, maxSockets }),
  };

  /** Resolves with the status code once the response is fully read; rejects on network errors. */
  function post(url: string, headers: Record<string, string>, body: Buffer, timeoutMs: number, signal: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      const target = URL.canParse(url) ? new URL(url) : null;
      if (!target || (target.protocol !== "http:" && target.protocol !== "https:")) {
        return reject(new Error("unsupported webhook URL"));
      }
      const request = target.protocol === "https:" ? https.request : http.request;
      const req = request(
        target,
        {
          method: "POST",
          headers: { ...headers, "content-length": String(body.length) },
          agent: agents[target.protocol],
          signal,
        },
        (res) => {
          // Reading to the end returns the socket to the keep-alive pool.
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
          res.on("error", reject);
        },
      );
      // A whole-request deadline: the socket `timeout` option only measures idle gaps.
      const timer = setTimeout(() => req.destroy(new Error("timeout")), timeoutMs);
      req.on("close", () => clearTimeout(timer));
      req.on("error", reject);
      req.end(body);
    });
  }

  return {
    post,
    destroy(): void {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}
