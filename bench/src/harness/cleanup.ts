/**
 * What a stage must undo (stop processes, drop its database, delete its Redis keys), run in
 * reverse order whether the stage finished, failed, or the run was interrupted.
 */
export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<unknown> }[] = [];
  private running: Promise<void> | undefined;
  private static readonly all = new Set<Cleanup>();

  constructor() {
    Cleanup.all.add(this);
  }

  defer(what: string, fn: () => Promise<unknown>): void {
    this.steps.push({ what, fn });
  }

  /** Runs the steps once; a second call (the stage's own and an interrupt's) waits for the first. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.fn();
        } catch (err) {
          console.error(`cleanup: ${step.what} failed: ${(err as Error).message}`);
        }
      }
      Cleanup.all.delete(this);
    })();
    return this.running;
  }

  /** Every cleanup not yet finished, newest first: on Ctrl-C or the watchdog. */
  static async runAll(): Promise<void> {
    for (const c of [...Cleanup.all].reverse()) await c.run();
  }
}
