import type { GatewayDriver, RegisteredWebhook } from "@inboxerr/gateway";

/**
 * The events Inboxerr acts on. SMS Gate delivers only the events registered, pings included:
 * without `system:ping` no device is ever seen by its pings (ADR 0022).
 */
export const REGISTERED_EVENTS = ["sms:sent", "sms:delivered", "sms:failed", "sms:cancelled", "sms:received", "system:ping"] as const;

/** A fixed id per event, so registering again replaces our registration instead of adding one. */
export const webhookIdFor = (event: string): string => `inboxerr-${event.replace(":", "-")}`;

export type RegistrationResult = {
  registered: RegisteredWebhook[];
  /** Ids of other registrations of our URL for the same events, now deleted. */
  pruned: string[];
};

/**
 * Registers `url` for every event we need, from every device of the account (no device is
 * pinned: discovery makes each phone a sender and routing may send through any of them; an
 * older install's pinned registration is replaced, having the same fixed id), then deletes any
 * other registration of that URL for those events (left by an older install with random ids):
 * each one would deliver every event a second time under a new envelope id, and a delivered
 * part counted twice would mark a message delivered too early. Throws GatewayRequestError when
 * the gateway refuses.
 */
export async function registerWebhooks(driver: GatewayDriver, opts: { url: string }): Promise<RegistrationResult> {
  const registered: RegisteredWebhook[] = [];
  for (const event of REGISTERED_EVENTS) {
    registered.push(await driver.registerWebhook({ id: webhookIdFor(event), url: opts.url, event }));
  }
  const ours = new Set(registered.map((w) => w.id));
  const events = new Set<string>(REGISTERED_EVENTS);
  const pruned: string[] = [];
  for (const hook of await driver.listWebhooks()) {
    if (hook.url === opts.url && events.has(hook.event) && !ours.has(hook.id)) {
      await driver.deleteWebhook(hook.id);
      pruned.push(hook.id);
    }
  }
  return { registered, pruned };
}
