import { WEBHOOK_EVENTS } from "@inboxerr/gateway";
import type { Fleet } from "./accounts";

/**
 * `system:ping` from every online device every `intervalMs` (SIMULATOR_PING_SECONDS), as the
 * app's health ping does; an offline device stays silent. 0 turns pings off. Returns a stop.
 */
export function startPinger(fleet: Fleet, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => {};
  const timer = setInterval(() => {
    for (const account of fleet.all()) {
      for (const device of account.devices) {
        if (!device.online) continue;
        account.emit(WEBHOOK_EVENTS.systemPing, device.id, {
          health: { status: "pass", checks: { "connection:status": { status: "pass", observedValue: 1 } } },
        });
      }
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
