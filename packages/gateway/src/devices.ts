import { z } from "zod";
import { cleanGatewayText } from "./http";

/** One SIM of a gateway device, as `GET /devices` reports it. */
export type GatewaySimCard = {
  /** One-based, what a send's `simNumber` names (older servers: slotIndex + 1). */
  simNumber: number;
  /** Zero-based physical slot, or null when the gateway does not say. */
  slotIndex: number | null;
  /** As the phone knows it (often E.164, sometimes empty on real SIMs), or null. */
  phoneNumber: string | null;
  carrierName: string | null;
};

/** One phone of the account, as `GET /devices` reports it. */
export type GatewayDevice = {
  id: string;
  name: string | null;
  createdAt: Date | null;
  updatedAt: Date | null;
  /** When the gateway last heard from the phone; null when it does not say. */
  lastSeen: Date | null;
  /** Set on a device removed from the account: route nothing to it. */
  deletedAt: Date | null;
  /** Empty when the gateway reports no SIMs (older servers): send without `simNumber`. */
  simCards: GatewaySimCard[];
};

// Loose on purpose: the app adds fields between versions, and an odd field must not hide the
// whole fleet. Only `id` is required; a missing or malformed field reads as unknown (null).
const text = z.string().nullish().catch(null);
const date = z.iso.datetime({ offset: true }).nullish().catch(null);
const int = z.number().int().nullish().catch(null);

const simCardSchema = z.looseObject({ slotIndex: int, simNumber: int, phoneNumber: text, carrierName: text });

const deviceSchema = z.looseObject({
  id: z.string().min(1).max(100),
  name: text,
  createdAt: date,
  updatedAt: date,
  lastSeen: date,
  deletedAt: date,
  simCards: z.array(z.unknown()).nullish().catch(null),
});

const clean = (v: string | null | undefined) => (v && v.trim() !== "" ? cleanGatewayText(v.trim(), 200) : null);
const toDate = (v: string | null | undefined) => (v ? new Date(v) : null);

function toSimCard(item: unknown): GatewaySimCard | null {
  const parsed = simCardSchema.safeParse(item);
  if (!parsed.success) return null;
  const slotIndex = parsed.data.slotIndex ?? null;
  const simNumber = parsed.data.simNumber ?? (slotIndex !== null ? slotIndex + 1 : null);
  if (simNumber === null || simNumber < 1 || simNumber > 3) return null;
  return { simNumber, slotIndex, phoneNumber: clean(parsed.data.phoneNumber), carrierName: clean(parsed.data.carrierName) };
}

/**
 * The devices in a `GET /devices` answer. Entries without an id are skipped, as are SIM cards
 * without a usable number (1..3); null when the body is not a list at all.
 */
export function parseDevices(body: string): GatewayDevice[] | null {
  let items: unknown;
  try {
    items = JSON.parse(body);
  } catch {
    return null;
  }
  if (!Array.isArray(items)) return null;
  return items.flatMap((item: unknown): GatewayDevice[] => {
    const parsed = deviceSchema.safeParse(item);
    if (!parsed.success) return [];
    const d = parsed.data;
    return [
      {
        id: cleanGatewayText(d.id),
        name: clean(d.name),
        createdAt: toDate(d.createdAt),
        updatedAt: toDate(d.updatedAt),
        lastSeen: toDate(d.lastSeen),
        deletedAt: toDate(d.deletedAt),
        simCards: (d.simCards ?? []).map(toSimCard).filter((c): c is GatewaySimCard => c !== null),
      },
    ];
  });
}
