/**
 * Registers PUBLIC_WEBHOOK_URL with the gateway once and exits: 0 on success, 1 when the
 * gateway refused or did not answer. webhook-ingest also does this on start, with retries.
 */
import { loadConfig } from "@inboxerr/config";
import { smsGateDriverFromSettings } from "@inboxerr/gateway";
import { REGISTER_CONFIG_KEYS } from "../config";
import { registerWebhooks } from "../registration/register";

const config = loadConfig(REGISTER_CONFIG_KEYS);

const driver = smsGateDriverFromSettings(config);

try {
  const { registered, pruned } = await registerWebhooks(driver, { url: config.PUBLIC_WEBHOOK_URL });
  for (const w of registered) console.log(`registered ${w.event} -> ${w.url} (id ${w.id})`);
  for (const id of pruned) console.log(`deleted duplicate registration ${id}`);
} catch (err) {
  console.error(`registering webhooks failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
