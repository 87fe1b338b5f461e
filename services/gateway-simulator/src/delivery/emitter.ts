import { newId } from "../ids";
import type { WebhookRegistry } from "../webhooks/registry";
import type { Dispatcher } from "./dispatcher";

/**
 * Turns one device event into one envelope per matching webhook of its account, in the
 * phone's shape `{id, webhookId, deviceId, event, payload}`, signed with that account's key;
 * `id` is unique per envelope and stays the same across retries, so receivers can deduplicate
 * on it. Returns how many were queued.
 */
export function createEmitter(registry: WebhookRegistry, dispatcher: Dispatcher, signingKey: string) {
  return function emit(event: string, deviceId: string, payload: Record<string, unknown>): number {
    let queued = 0;
    for (const hook of registry.matching(event, deviceId)) {
      const body = JSON.stringify({ id: newId(), webhookId: hook.id, deviceId, event, payload });
      if (dispatcher.enqueue({ url: hook.url, event, body, signingKey })) queued += 1;
    }
    return queued;
  };
}

export type Emit = ReturnType<typeof createEmitter>;
