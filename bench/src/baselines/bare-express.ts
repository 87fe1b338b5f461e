/**
 * The floor of webhook ingest: a bare express endpoint that reads the raw body, parses it and
 * answers 200, nothing else. Run as its own process (like the service it stands for); prints
 * `listening <port>` once bound and exits on SIGTERM.
 */
import express from "express";

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.post("/webhooks/sms-gate", express.raw({ type: () => true, limit: "256kb" }), (req, res) => {
  const body = JSON.parse((req.body as Buffer).toString("utf8")) as { id?: string };
  res.json({ status: body.id ? "applied" : "ignored" });
});
const server = app.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  console.log(`listening ${typeof addr === "object" && addr ? addr.port : 0}`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
