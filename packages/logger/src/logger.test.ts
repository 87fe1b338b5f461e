import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger";
import { withLogContext } from "./context";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, destination };
}

describe("createLogger", () => {
  it("redacts passwords, tokens, API keys and authorization headers", () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "t", destination });
    log.info({
      password: "hunter2",
      body: { password: "p", access_token: "jwt" },
      req: { headers: { authorization: "Bearer abc", "x-api-key": "ibx_secret" } },
      apiKey: "ibx_k",
      account: { webhookSigningKey: "sign-me", webhook_signing_key: "row-key" },
    }, "hello");
    const line = JSON.stringify(lines[0]);
    for (const secret of ["hunter2", "jwt", "Bearer abc", "ibx_secret", "ibx_k", '"p"', "sign-me", "row-key"]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain("[redacted]");
  });

  it("hides message text unless LOG_MESSAGE_TEXT is on", () => {
    const hidden = capture();
    createLogger({ service: "t", destination: hidden.destination }).info({ msg2: 1, body: { text: "hi mum" } });
    expect(JSON.stringify(hidden.lines[0])).not.toContain("hi mum");

    const shown = capture();
    createLogger({ service: "t", destination: shown.destination, logMessageText: true }).info({ body: { text: "hi mum" } });
    expect(JSON.stringify(shown.lines[0])).toContain("hi mum");
  });

  it("carries the request id of the async context into every line", async () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "api", destination });
    await withLogContext({ requestId: "r-1" }, async () => {
      await Promise.resolve();
      log.info("inside");
    });
    log.info("outside");
    expect(lines[0]).toMatchObject({ service: "api", requestId: "r-1", msg: "inside" });
    expect(lines[1]).not.toHaveProperty("requestId");
  });

  it("does not carry one line's fields into the next line of the same request", async () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "api", destination });
    await withLogContext({ requestId: "r-2" }, async () => {
      log.warn({ detail: "first" }, "one");
      log.info("two");
    });
    expect(lines[1]).toMatchObject({ requestId: "r-2", msg: "two" });
    expect(lines[1]).not.toHaveProperty("detail");
  });
});
