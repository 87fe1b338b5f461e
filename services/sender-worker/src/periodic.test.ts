import { describe, expect, it } from "vitest";
import { waitFor } from "@inboxerr/testing";
import { startPeriodic } from "./periodic";
import { logger } from "./testing/harness";

describe("startPeriodic", () => {
  it("aborts the running task's signal on stop and waits only for it to give up", async () => {
    let started = 0;
    const periodic = startPeriodic(
      "long-task",
      10,
      (signal) => {
        started += 1;
        // A long run (a failover pass across a dead gateway) that only ends when told to.
        return new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      },
      logger,
    );
    await waitFor(() => started === 1, { message: "the task running" });
    await periodic.stop();
    expect(started).toBe(1);
  });
});
