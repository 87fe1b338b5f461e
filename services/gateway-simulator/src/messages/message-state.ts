import type { StoredMessage } from "./store";

/** The SMS Gate `MessageState` body that POST (202) and GET /messages/:id answer with. */
export function toMessageState(msg: StoredMessage) {
  return {
    id: msg.id,
    deviceId: msg.deviceId,
    state: msg.state,
    isHashed: false,
    isEncrypted: msg.isEncrypted,
    recipients: msg.recipients.map((r) => ({ ...r })),
    states: Object.fromEntries(Object.entries(msg.states).map(([state, at]) => [state, new Date(at).toISOString()])),
    createdAt: new Date(msg.createdAt).toISOString(),
  };
}
