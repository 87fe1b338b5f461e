import { describe, expect, it } from "vitest";
import { ItemFailure, MicroBatcher } from "./micro-batcher";

/** A run() whose batches finish only when the test releases them. */
function gatedRun() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((n) => n * 10);
  };
  const releaseAll = () => gates.splice(0).forEach((g) => g());
  return { batches, run, releaseAll };
}

const nextTurn = () => new Promise((r) => setImmediate(r));

describe("MicroBatcher", () => {
  it("runs a lone item at once and gives each caller its own result", async () => {
    const b = new MicroBatcher<number, string>({ run: async (xs) => xs.map(String), maxSize: 10, maxConcurrent: 1 });
    await expect(b.add(7)).resolves.toBe("7");
  });

  it("with lingerMs, folds callers of the same moment into one batch and gives each its own result", async () => {
    const batches: number[][] = [];
    const run = async (xs: number[]) => {
      batches.push(xs);
      return xs.map((x) => x + 1);
    };
    const b = new MicroBatcher<number, number>({ run, maxSize: 10, maxConcurrent: 1, lingerMs: 1 });
    await expect(Promise.all([b.add(1), b.add(2), b.add(3)])).resolves.toEqual([2, 3, 4]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it("folds items that arrive while every slot is busy into the next batch, up to maxSize", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 3, maxConcurrent: 1 });
    const first = b.add(1);
    await nextTurn();
    const rest = [2, 3, 4, 5, 6].map((n) => b.add(n));
    expect(g.batches).toEqual([[1]]);
    for (let i = 0; i < 3; i++) {
      g.releaseAll();
      await nextTurn();
      await nextTurn();
    }
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50, 60]);
    expect(g.batches).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it("rejects every item of a failed batch and keeps serving later ones", async () => {
    let fail = true;
    const b = new MicroBatcher<number, number>({
      run: async (xs) => {
        if (fail) throw new Error("db down");
        return xs;
      },
      maxSize: 10,
      maxConcurrent: 2,
    });
    const failed = [b.add(1), b.add(2)];
    await expect(Promise.all(failed)).rejects.toThrow("db down");
    await Promise.allSettled(failed);
    fail = false;
    await expect(b.add(3)).resolves.toBe(3);
  });

  it("fails only the items run marks with ItemFailure, resolving the rest of the batch", async () => {
    const b = new MicroBatcher<number, number>({
      run: async (xs) => xs.map((x) => (x < 0 ? new ItemFailure(new Error(`bad ${x}`)) : x * 10)),
      maxSize: 10,
      maxConcurrent: 1,
    });
    const results = await Promise.allSettled([b.add(1), b.add(-2), b.add(3)]);
    expect(results).toEqual([
      { status: "fulfilled", value: 10 },
      { status: "rejected", reason: new Error("bad -2") },
      { status: "fulfilled", value: 30 },
    ]);
    await expect(b.add(4)).resolves.toBe(40);
  });

  it("by default, items that waited for a running batch linger again once it ends", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 2, maxConcurrent: 1, lingerMs: 60_000 });
    const all = [b.add(1), b.add(2)]; // a full batch goes at once, linger or not
    await nextTurn();
    all.push(b.add(3));
    g.releaseAll();
    for (let i = 0; i < 4; i++) await nextTurn();
    expect(g.batches).toEqual([[1, 2]]); // 3 waits its own linger
    const closed = b.close(); // which close() cuts short
    await nextTurn();
    expect(g.batches).toEqual([[1, 2], [3]]);
    g.releaseAll();
    await closed;
    expect(await Promise.all(all)).toEqual([10, 20, 30]);
  });

  it("with lingerAfterBatch false, items that waited for a running batch go as soon as it ends", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 2, maxConcurrent: 1, lingerMs: 60_000, lingerAfterBatch: false });
    const all = [b.add(1), b.add(2)];
    await nextTurn();
    all.push(b.add(3));
    g.releaseAll();
    for (let i = 0; i < 4; i++) await nextTurn();
    expect(g.batches).toEqual([[1, 2], [3]]);
    g.releaseAll();
    expect(await Promise.all(all)).toEqual([10, 20, 30]);
    // An item that finds the batcher idle still lingers: it has waited for nothing yet.
    const late = b.add(4);
    for (let i = 0; i < 4; i++) await nextTurn();
    expect(g.batches).toHaveLength(2);
    const closed = b.close();
    await nextTurn();
    g.releaseAll();
    await closed;
    expect(await late).toBe(40);
  });

  it("close() runs what is waiting, waits for it, and refuses new items", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 10, maxConcurrent: 1, lingerMs: 60_000 });
    const waiting = b.add(1);
    const closed = b.close();
    await nextTurn();
    expect(g.batches).toEqual([[1]]);
    await expect(b.add(2)).rejects.toThrow(/closed/);
    g.releaseAll();
    await closed;
    expect(await waiting).toBe(10);
    expect(b.size).toBe(0);
  });

  it("never runs two batches holding the same key at once, and keeps each key's order", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 10, maxConcurrent: 3, keysOf: (n) => [`k${n % 3}`] });
    const first = b.add(1); // k1
    await nextTurn();
    const rest = [2, 3, 4, 5, 6, 7].map((n) => b.add(n)); // 4 and 7 share k1 with the running batch
    await nextTurn();
    expect(g.batches).toEqual([[1], [2, 3, 5, 6]]);
    g.releaseAll();
    await first;
    for (let i = 0; i < 4; i++) await nextTurn();
    expect(g.batches).toEqual([[1], [2, 3, 5, 6], [4, 7]]);
    g.releaseAll();
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50, 60, 70]);
  });

  it("with busyMinSize, starts a batch beside a running one only once that many wait", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 10, maxConcurrent: 3, busyMinSize: 3 });
    const all = [b.add(1)];
    await nextTurn();
    expect(g.batches).toEqual([[1]]); // idle: the first one runs at once

    all.push(b.add(2), b.add(3));
    await nextTurn();
    expect(g.batches).toEqual([[1]]); // two wait: not enough to open a second slot

    all.push(b.add(4));
    await nextTurn();
    expect(g.batches).toEqual([[1], [2, 3, 4]]); // three wait: a second batch starts

    all.push(b.add(5));
    await nextTurn();
    expect(g.batches).toHaveLength(2);
    g.releaseAll(); // both running batches end: the lone waiter goes alone
    for (let i = 0; i < 3; i++) await nextTurn();
    expect(g.batches).toEqual([[1], [2, 3, 4], [5]]);
    g.releaseAll();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
  });

  it("with busyMinSize, too few waiters wait for every running batch, not just one of them", async () => {
    const batches: number[][] = [];
    const gates = new Map<number, () => void>();
    const run = async (xs: number[]) => {
      batches.push(xs);
      await new Promise<void>((resolve) => gates.set(xs[0]!, resolve));
      return xs;
    };
    const b = new MicroBatcher<number, number>({ run, maxSize: 10, maxConcurrent: 3, busyMinSize: 2 });
    const all = [b.add(1)];
    await nextTurn();
    all.push(b.add(2), b.add(3)); // two wait: a second batch starts
    await nextTurn();
    expect(batches).toEqual([[1], [2, 3]]);
    all.push(b.add(4));
    gates.get(1)!(); // one of the two ends; [2, 3] still runs and one waits
    for (let i = 0; i < 3; i++) await nextTurn();
    expect(batches).toEqual([[1], [2, 3]]);
    gates.get(2)!(); // none runs now: the waiter goes
    for (let i = 0; i < 3; i++) await nextTurn();
    expect(batches).toEqual([[1], [2, 3], [4]]);
    gates.get(4)!();
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4]);
  });

  it("with busyMaxWaitMs, starts a batch beside a slow one once the oldest waiter has waited that long", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 10, maxConcurrent: 2, busyMinSize: 100, busyMaxWaitMs: 30 });
    const first = b.add(1);
    await nextTurn();
    const second = b.add(2);
    await nextTurn();
    expect(g.batches).toEqual([[1]]); // far below busyMinSize: it waits...
    await new Promise((r) => setTimeout(r, 60));
    expect(g.batches).toEqual([[1], [2]]); // ...but not for longer than busyMaxWaitMs
    g.releaseAll();
    expect(await Promise.all([first, second])).toEqual([10, 20]);
  });

  it("close() runs the waiting items at once, beside a running batch, however few", async () => {
    const g = gatedRun();
    const b = new MicroBatcher<number, number>({ run: g.run, maxSize: 10, maxConcurrent: 2, busyMinSize: 100 });
    const first = b.add(1);
    await nextTurn();
    const second = b.add(2);
    const closed = b.close();
    await nextTurn();
    expect(g.batches).toEqual([[1], [2]]);
    g.releaseAll();
    await closed;
    expect(await Promise.all([first, second])).toEqual([10, 20]);
  });
});
