import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { eq } from "drizzle-orm";
import { sealSecret, webhookEndpoints, type Db, type SecretsKey } from "@inboxerr/db";
import { generateWebhookSecret } from "@inboxerr/webhooks";

type Received = { id: string; headers: IncomingHttpHeaders; body: string; at: number; answered: number | "hang" };

/** What the receiver answers a request with: a status, or "hang" (never answers). */
export type Answer = (req: { id: string; body: string }) => number | "hang";

/** A customer's endpoint over real HTTP on 127.0.0.1: records every request, answers as told. */
export async function startReceiver(answer: Answer = () => 200, opts: { delayMs?: number; headers?: Record<string, string> } = {}) {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let current = answer;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = String(req.headers["webhook-id"] ?? "");
      const a = current({ id, body });
      received.push({ id, headers: req.headers, body, at: Date.now(), answered: a });
      if (a === "hang") {
        hanging.add(res);
        return;
      }
      const reply = () => res.writeHead(a, { "content-type": "text/plain", ...opts.headers }).end(a < 300 ? "ok" : "no");
      if (opts.delayMs) setTimeout(reply, opts.delayMs);
      else reply();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    /** Requests answered 2xx, one per webhook-id (the receiver's dedupe). */
    deliveredIds: () => new Set(received.filter((r) => typeof r.answered === "number" && r.answered < 300).map((r) => r.id)),
    setAnswer(a: Answer) {
      current = a;
    },
    async close() {
      for (const res of hanging) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** An active endpoint of `userId` with a fresh secret, sealed as the api seals it. */
export async function createEndpoint(db: Db, key: SecretsKey, userId: string, url: string, events: string[] = []) {
  const secret = generateWebhookSecret();
  const [row] = await db
    .insert(webhookEndpoints)
    .values({ userId, url, events, secret: sealSecret(key, "webhook_endpoints.secret", secret) })
    .returning();
  return { ...row!, plainSecret: secret };
}

/** A rotation as the api makes it: a new secret, the old one valid for `validMs` more. */
export async function rotateSecret(db: Db, key: SecretsKey, endpointId: string, oldSecret: string, validMs = 24 * 3600_000) {
  const secret = generateWebhookSecret();
  await db
    .update(webhookEndpoints)
    .set({
      secret: sealSecret(key, "webhook_endpoints.secret", secret),
      previousSecret: sealSecret(key, "webhook_endpoints.previous_secret", oldSecret),
      previousSecretExpiresAt: new Date(Date.now() + validMs),
    })
    .where(eq(webhookEndpoints.id, endpointId));
  return secret;
}
