import { newId } from "../ids";

/** A registration as SMS Gate returns it: `deviceId` null means every device. */
export type Webhook = { id: string; deviceId: string | null; url: string; event: string };

/** Registered webhooks, in registration order. Reusing an id replaces that registration. */
export function createWebhookRegistry() {
  const hooks = new Map<string, Webhook>();
  return {
    upsert(input: { id?: string; url: string; event: string; deviceId?: string | null }): Webhook {
      const hook: Webhook = {
        id: input.id || newId(),
        deviceId: input.deviceId ?? null,
        url: input.url,
        event: input.event,
      };
      hooks.set(hook.id, hook);
      return hook;
    },
    list(): Webhook[] {
      return [...hooks.values()];
    },
    delete(id: string): boolean {
      return hooks.delete(id);
    },
    /** The webhooks an event from this device goes to. */
    matching(event: string, deviceId: string): Webhook[] {
      const out: Webhook[] = [];
      for (const hook of hooks.values()) {
        if (hook.event === event && (hook.deviceId === null || hook.deviceId === deviceId)) out.push(hook);
      }
      return out;
    },
  };
}

export type WebhookRegistry = ReturnType<typeof createWebhookRegistry>;
