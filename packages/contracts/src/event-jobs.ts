import { UnrecoverableError } from "bullmq";
import { z } from "zod";
import { messageEventJobSchema, type MessageEventJob } from "./queues";

/** One event of a batch job that fails messageEventJobSchema: its place in `events`, and why. */
export type InvalidEvent = { index: number; detail: string };

export type ReadEventJob =
  /** `batch`: the data was `{ events }` (ADR 0024); otherwise one pre-0024 event. */
  | { ok: true; batch: boolean; events: MessageEventJob[]; invalid: InvalidEvent[] }
  /** Neither shape: retrying cannot fix it. */
  | { ok: false; detail: string };

const envelope = z.object({ events: z.array(z.unknown()) });

const describe = (error: z.ZodError) => error.issues.map((i) => `${i.path.join(".") || "(data)"}: ${i.message}`).join("; ");

/**
 * Reads an outbox job's data (ADR 0024): a batch `{ events: [...] }`, each element checked on
 * its own so one bad event is reported and skipped rather than failing its batch, or the
 * single event of a pre-0024 job. Data with an `events` key is read as a batch.
 */
export function readEventJob(data: unknown): ReadEventJob {
  if (typeof data === "object" && data !== null && "events" in data) {
    const batch = envelope.safeParse(data);
    if (!batch.success) return { ok: false, detail: describe(batch.error) };
    const events: MessageEventJob[] = [];
    const invalid: InvalidEvent[] = [];
    batch.data.events.forEach((raw, index) => {
      const parsed = messageEventJobSchema.safeParse(raw);
      if (parsed.success) events.push(parsed.data);
      else invalid.push({ index, detail: describe(parsed.error) });
    });
    return { ok: true, batch: true, events, invalid };
  }
  const single = messageEventJobSchema.safeParse(data);
  return single.success ? { ok: true, batch: false, events: [single.data], invalid: [] } : { ok: false, detail: describe(single.error) };
}

/** The events of a job a consumer can apply, as takeEventJob hands them over. */
export type EventJobEvents = { batch: boolean; events: MessageEventJob[]; invalid: InvalidEvent[] };

/**
 * What both outbox consumers do first with a job (ADR 0024): read it (readEventJob), log each
 * invalid event of a batch (skipped), and fail a job that is neither shape for good
 * (UnrecoverableError: retrying cannot fix the data; the failed job is kept for inspection).
 * The lines name the job by hand: consumers run no per-job log context.
 */
export function takeEventJob(
  job: { id?: string | undefined; name: string; data: unknown },
  logger: { error: (fields: object, message: string) => void },
): EventJobEvents {
  const read = readEventJob(job.data);
  if (!read.ok) {
    logger.error({ jobId: job.id, jobName: job.name, detail: read.detail }, "invalid event job; dropping it");
    throw new UnrecoverableError(`invalid event job: ${read.detail}`);
  }
  for (const bad of read.invalid) logger.error({ jobId: job.id, index: bad.index, detail: bad.detail }, "invalid event in a batch job; skipping it");
  return read;
}
