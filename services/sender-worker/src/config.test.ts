import { describe, expect, it } from "vitest";
import { parseConfig } from "@inboxerr/config";
import { DEFAULT_SEND_MAX_ATTEMPTS } from "@inboxerr/db";
import { SENDER_CONFIG_KEYS } from "./config";

describe("sender config", () => {
  it("defaults SEND_MAX_ATTEMPTS to the db package's DEFAULT_SEND_MAX_ATTEMPTS (config cannot import it)", () => {
    const config = parseConfig(SENDER_CONFIG_KEYS, { ...process.env, SEND_MAX_ATTEMPTS: undefined, SMSGATE_PASSWORD: "x" });
    expect(config.SEND_MAX_ATTEMPTS).toBe(DEFAULT_SEND_MAX_ATTEMPTS);
  });
});
