/** What `run` returns in place of an item's result to fail that item alone: its caller gets `error`. */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

export type MicroBatchOptions<T, R> = {
  /** Runs one batch; returns one result (or ItemFailure) per item, in order. */
  run: (items: T[]) => Promise<(R | ItemFailure)[]>;
  /** Largest batch handed to `run`. */
  maxSize: number;
  /** Batches running at once; items arriving meanwhile wait and form the next batch. */
  maxConcurrent: number;
  /** How long the first waiting item holds the door for company; 0 = until the current tick ends. */
  lingerMs: number;
};

type Pending<T, R> = { item: T; resolve: (r: R) => void; reject: (e: unknown) => void };

/**
 * Folds concurrent callers into batches. Each `add` settles once the batch carrying it has
 * run: with its own item's result, its own ItemFailure's error, or that batch's error. Busy
 * slots are what makes batches grow: under load items pile up while a batch is in flight,
 * with no timer at all.
 */
export class MicroBatch<T, R> {
  private pending: Pending<T, R>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(private readonly opts: MicroBatchOptions<T, R>) {}

  add(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new Error("status batcher is closed"));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Refuses new items, runs the waiting ones, and resolves when no batch is running. */
  async close(): Promise<void> {
    this.closed = true;
    this.drain();
    if (this.pending.length === 0 && this.running === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.timer || this.running >= this.opts.maxConcurrent) return;
    if (this.pending.length >= this.opts.maxSize) return this.drain();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drain();
    }, this.opts.lingerMs);
  }

  private drain(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.pending.length > 0 && this.running < this.opts.maxConcurrent) {
      const batch = this.pending.splice(0, this.opts.maxSize);
      this.running++;
      void this.runBatch(batch).finally(() => {
        this.running--;
        // Whoever queued up meanwhile has waited a whole batch already: no extra linger.
        if (this.pending.length > 0) this.drain();
        else if (this.running === 0) for (const wake of this.idle.splice(0)) wake();
      });
    }
  }

  private async runBatch(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.opts.run(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batch gave ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => {
        const result = results[i];
        if (result instanceof ItemFailure) p.reject(result.error);
        else p.resolve(result as R);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
