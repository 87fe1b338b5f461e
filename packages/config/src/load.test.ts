import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./load";

describe("parseConfig", () => {
  it("applies defaults for unset optional variables", () => {
    const cfg = parseConfig(["API_PORT", "QUEUE_PREFIX", "LOG_MESSAGE_TEXT"], {});
    expect(cfg).toEqual({ API_PORT: 3000, QUEUE_PREFIX: "{inboxerr}", LOG_MESSAGE_TEXT: false });
  });

  it("coerces numbers and booleans from strings", () => {
    const cfg = parseConfig(["SENDER_CONCURRENCY", "LOG_MESSAGE_TEXT"], {
      SENDER_CONCURRENCY: "12",
      LOG_MESSAGE_TEXT: "true",
    });
    expect(cfg).toEqual({ SENDER_CONCURRENCY: 12, LOG_MESSAGE_TEXT: true });
  });

  it("names a missing required variable in one line", () => {
    expect(() => parseConfig(["JWT_SECRET"], {})).toThrow(
      new ConfigError("Invalid configuration: JWT_SECRET: is required but not set"),
    );
  });

  it("treats an empty string as unset", () => {
    expect(() => parseConfig(["SMSGATE_PASSWORD"], { SMSGATE_PASSWORD: "" })).toThrow(
      /SMSGATE_PASSWORD: is required/,
    );
  });

  it("lists every bad variable with its reason", () => {
    let message = "";
    try {
      parseConfig(["API_PORT", "DATABASE_URL", "JWT_SECRET"], {
        API_PORT: "99999",
        DATABASE_URL: "mysql://x",
        JWT_SECRET: "short",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain("\n");
    expect(message).toMatch(/API_PORT: /);
    expect(message).toMatch(/DATABASE_URL: must be a postgres: or postgresql: URL/);
    expect(message).toMatch(/JWT_SECRET: must be at least 32 characters/);
  });

  it("reads TRUST_PROXY as a boolean, a hop count or a list of addresses", () => {
    expect(parseConfig(["TRUST_PROXY"], {}).TRUST_PROXY).toBe(false);
    expect(parseConfig(["TRUST_PROXY"], { TRUST_PROXY: "true" }).TRUST_PROXY).toBe(true);
    expect(parseConfig(["TRUST_PROXY"], { TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(parseConfig(["TRUST_PROXY"], { TRUST_PROXY: "10.0.0.0/8" }).TRUST_PROXY).toBe("10.0.0.0/8");
  });

  it("reads WEBHOOK_RETRY_SCHEDULE as seconds, refusing an empty step", () => {
    expect(parseConfig(["WEBHOOK_RETRY_SCHEDULE"], { WEBHOOK_RETRY_SCHEDULE: "0, 5,300" }).WEBHOOK_RETRY_SCHEDULE).toEqual([0, 5, 300]);
    // Number("") is 0: each of these would otherwise add an immediate retry.
    for (const v of ["0,,5", "5,", ",5", " "]) {
      expect(() => parseConfig(["WEBHOOK_RETRY_SCHEDULE"], { WEBHOOK_RETRY_SCHEDULE: v }), JSON.stringify(v)).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
    }
  });

  it("rejects a lowercase or malformed phone region", () => {
    expect(() => parseConfig(["DEFAULT_PHONE_REGION"], { DEFAULT_PHONE_REGION: "gb" })).toThrow(
      /DEFAULT_PHONE_REGION: must be an ISO 3166-1/,
    );
  });
});
