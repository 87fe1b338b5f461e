/**
 * What `run` returns in an item's place to fail that item alone: its caller's `add` rejects with
 * `error`, and the rest of the batch resolves as usual. For work where one item's bad data must
 * not fail the others batched with it.
 */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

export type MicroBatcherOptions<T, R> = {
  /**
   * Runs one batch and returns one result (or ItemFailure) per item, in the same order. A throw
   * fails every item of the batch.
   */
  run: (items: T[]) => Promise<(R | ItemFailure)[]>;
  /** Largest batch handed to `run`. */
  maxSize: number;
  /** Batches allowed to run at once; the rest of the items wait and form the next batch. */
  maxConcurrent: number;
  /**
   * While a batch runs, how many items must wait before another batch starts beside it
   * (default 1: at once, up to maxConcurrent). Until then they wait for every running batch to
   * end, or for `busyMaxWaitMs`. Where each batch has a fixed cost (a statement and its
   * commit), this keeps a moderate load to one batch at a time, each carrying what arrived
   * meanwhile, and still opens more slots when arrivals outrun one batch.
   */
  busyMinSize?: number;
  /**
   * With busyMinSize: the longest an item waits for a running batch before a batch starts
   * beside it anyway (default: no limit). Bounds what one slow batch (a statement waiting on a
   * lock) costs the items behind it.
   */
  busyMaxWaitMs?: number;
  /**
   * How long a lone item waits for company before its batch runs. 0 runs it once the current
   * event-loop turn ends, so an idle service adds no latency and a busy one batches naturally
   * (items arriving while every slot is busy fold into the next batch).
   */
  lingerMs?: number;
  /**
   * Whether items waiting when a batch ends linger before the next batch (default true). With
   * false, each batch's end sends what is waiting at once: items that queued behind it have
   * waited a whole batch for company already (an item still lingering goes with them). Where
   * lingering is the point (a publisher folding events for 50 ms to publish less often), false
   * would publish the moment the previous publish ends. ADR 0014 has the measurements.
   */
  lingerAfterBatch?: boolean;
  /**
   * Items sharing a key never run in two batches at once: one that arrives while a running
   * batch holds its key waits for the next batch (items of a key keep their order). For work
   * that locks rows by key, this turns lock waits inside the database into ordering here.
   */
  keysOf?: (item: T) => readonly string[];
};

type Pending<T, R> = { item: T; keys: readonly string[]; at: number; resolve: (r: R) => void; reject: (e: unknown) => void };

/**
 * Folds concurrent callers into batches: each `add` settles once the batch that carried it has
 * run, with its own item's result, its own ItemFailure's error, or that batch's error.
 */
export class MicroBatcher<T, R> {
  private pending: Pending<T, R>[] = [];
  private inFlight = 0;
  /** Keys of the running batches, with how many running batches hold each. */
  private busy = new Map<string, number>();
  /** Cancels the pending linger, if one is pending. */
  private stopLinger: (() => void) | undefined;
  private overdueTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: MicroBatcherOptions<T, R>) {}

  add(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new Error("batcher is closed"));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, keys: this.opts.keysOf?.(item) ?? [], at: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting plus items in a running batch. */
  get size(): number {
    return this.pending.length + this.inFlight;
  }

  /** Refuses new items, runs what is waiting, and resolves once every batch has finished. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    if (this.pending.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Whether the items waiting are enough (or have waited long enough) to start a batch beside the running ones. */
  private enoughWaiting(): boolean {
    if (this.inFlight === 0 || this.closed || this.pending.length >= (this.opts.busyMinSize ?? 1)) return true;
    const maxWait = this.opts.busyMaxWaitMs;
    return maxWait !== undefined && this.pending.length > 0 && performance.now() - this.pending[0]!.at >= maxWait;
  }

  /** Looks again once the oldest waiting item has waited busyMaxWaitMs. */
  private armOverdue(): void {
    const maxWait = this.opts.busyMaxWaitMs;
    if (maxWait === undefined || this.overdueTimer || this.pending.length === 0) return;
    const due = Math.max(0, this.pending[0]!.at + maxWait - performance.now());
    this.overdueTimer = setTimeout(() => {
      this.overdueTimer = undefined;
      this.schedule();
    }, Math.ceil(due));
  }

  /** `afterBatch`: called as a batch ends, for the items that waited for it. */
  private schedule(afterBatch = false): void {
    if (this.inFlight >= this.opts.maxConcurrent || this.pending.length === 0) return;
    if (!this.enoughWaiting()) return this.armOverdue();
    if (this.pending.length >= this.opts.maxSize || this.closed) return this.flush();
    if (afterBatch && this.opts.lingerAfterBatch === false) return this.flush();
    if (this.stopLinger) return;
    const fire = () => {
      this.stopLinger = undefined;
      this.flush();
    };
    if (this.opts.lingerMs) {
      const timer = setTimeout(fire, this.opts.lingerMs);
      this.stopLinger = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(fire);
      this.stopLinger = () => clearImmediate(immediate);
    }
  }

  private flush(): void {
    // What this leaves waiting goes as a running batch ends, not on a linger timer set earlier.
    this.stopLinger?.();
    this.stopLinger = undefined;
    while (this.pending.length > 0 && this.inFlight < this.opts.maxConcurrent && this.enoughWaiting()) {
      const batch = this.take();
      if (batch.length === 0) return; // everything waiting is held by a running batch
      const keys = [...new Set(batch.flatMap((p) => p.keys))];
      for (const k of keys) this.busy.set(k, (this.busy.get(k) ?? 0) + 1);
      this.inFlight++;
      this.runBatch(batch).finally(() => {
        for (const k of keys) {
          const n = this.busy.get(k)! - 1;
          if (n === 0) this.busy.delete(k);
          else this.busy.set(k, n);
        }
        this.inFlight--;
        if (this.pending.length > 0) this.schedule(true);
        else if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    }
  }

  /** The next batch: pending items in order, skipping (and keeping) those a running batch holds. */
  private take(): Pending<T, R>[] {
    if (this.busy.size === 0) return this.pending.splice(0, this.opts.maxSize);
    const batch: Pending<T, R>[] = [];
    const rest: Pending<T, R>[] = [];
    // Keys of a running batch, or of an item held back: later items of that key wait too.
    const held = new Set<string>(this.busy.keys());
    for (const p of this.pending) {
      if (batch.length < this.opts.maxSize && !p.keys.some((k) => held.has(k))) batch.push(p);
      else {
        rest.push(p);
        for (const k of p.keys) held.add(k);
      }
    }
    this.pending = rest;
    return batch;
  }

  private async runBatch(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.opts.run(batch.map((p) => p.item));
      if (results.length !== batch.length) {
        throw new Error(`batch returned ${results.length} results for ${batch.length} items`);
      }
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
