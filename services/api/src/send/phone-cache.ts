import { normalizePhone, type NormalizeResult } from "@inboxerr/sms";

/**
 * normalizePhone with a bounded per-process memo. Parsing with full metadata costs ~10 µs a
 * valid number (~35 µs an invalid one), the largest CPU cost of a bulk send, and senders
 * mail the same lists again and again. Results depend only on (input, region), so entries
 * never go stale; the oldest insertion is evicted when full (Map keeps insertion order).
 */
export class PhoneNormalizer {
  private readonly memo = new Map<string, NormalizeResult>();
  constructor(
    private readonly defaultRegion: string,
    private readonly maxEntries = 100_000,
  ) {}

  normalize(input: string): NormalizeResult {
    const hit = this.memo.get(input);
    if (hit) return hit;
    const result = normalizePhone(input, this.defaultRegion);
    if (this.memo.size >= this.maxEntries) {
      const oldest = this.memo.keys().next();
      if (!oldest.done) this.memo.delete(oldest.value);
    }
    this.memo.set(input, result);
    return result;
  }
}
