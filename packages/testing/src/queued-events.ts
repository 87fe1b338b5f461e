/** The part of a BullMQ Queue this reads (structural: @inboxerr/testing does not depend on bullmq). */
type JobReader = {
  getJobs(types: ("waiting" | "delayed" | "prioritized" | "completed" | "failed" | "active")[], start?: number, end?: number): Promise<({ data: unknown } | undefined)[]>;
};

/**
 * Every event on an outbox queue, read out of its jobs (ADR 0024: a job carries `{ events }`, or
 * one event before it): waiting, prioritised, delayed and completed jobs by default. A republish
 * shows as the same event twice. Only what a test states about events, not about jobs.
 */
export async function queuedEvents<E = { eventId: string }>(
  queue: JobReader,
  states: ("waiting" | "delayed" | "prioritized" | "completed" | "failed" | "active")[] = ["waiting", "prioritized", "delayed", "completed"],
): Promise<E[]> {
  const jobs = await queue.getJobs(states, 0, -1);
  return jobs.flatMap((job) => {
    if (!job) return [];
    const data = job.data as { events?: E[] } | E;
    return typeof data === "object" && data !== null && "events" in data && Array.isArray(data.events) ? data.events : [data as E];
  });
}

/** The event ids on an outbox queue (queuedEvents), repeats kept. */
export async function queuedEventIds(queue: JobReader, states?: Parameters<typeof queuedEvents>[1]): Promise<string[]> {
  return (await queuedEvents(queue, states)).map((e) => e.eventId);
}
