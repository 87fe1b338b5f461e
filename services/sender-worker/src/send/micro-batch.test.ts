import { describe, expect, it } from "vitest";
import { ItemFailure, MicroBatch } from "./micro-batch";

/** A run() whose batches finish only when the test lets them. */
function gated() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((n) => n * 2);
  };
  return { batches, run, open: () => gates.splice(0).forEach((g) => g()) };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("MicroBatch", () => {
  it("gives every caller its own result", async () => {
    const b = new MicroBatch<number, number>({ run: async (xs) => xs.map((x) => x + 1), maxSize: 10, maxConcurrent: 1, lingerMs: 1 });
    await expect(Promise.all([b.add(1), b.add(2), b.add(3)])).resolves.toEqual([2, 3, 4]);
  });

  it("folds what arrives while every slot is busy into the next batch, up to maxSize", async () => {
    const g = gated();
    const b = new MicroBatch<number, number>({ run: g.run, maxSize: 3, maxConcurrent: 1, lingerMs: 1 });
    const first = b.add(1);
    await tick();
    const rest = [2, 3, 4, 5, 6].map((n) => b.add(n));
    await tick();
    expect(g.batches).toEqual([[1]]);
    g.open();
    await first;
    await tick();
    expect(g.batches).toEqual([[1], [2, 3, 4]]);
    g.open();
    await tick();
    g.open();
    await expect(Promise.all(rest)).resolves.toEqual([4, 6, 8, 10, 12]);
    expect(g.batches).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it("rejects every caller of a failed batch and carries on with the next", async () => {
    let calls = 0;
    const b = new MicroBatch<number, number>({
      run: async (xs) => {
        if (++calls === 1) throw new Error("database down");
        return xs;
      },
      maxSize: 10,
      maxConcurrent: 1,
      lingerMs: 1,
    });
    const failed = [b.add(1), b.add(2)];
    for (const p of failed) await expect(p).rejects.toThrow("database down");
    await expect(b.add(3)).resolves.toBe(3);
  });

  it("fails only the items its run marks as failed, resolving the rest of the batch", async () => {
    const b = new MicroBatch<number, number>({
      run: async (xs) => xs.map((x) => (x < 0 ? new ItemFailure(new Error(`bad ${x}`)) : x * 10)),
      maxSize: 10,
      maxConcurrent: 1,
      lingerMs: 1,
    });
    const results = await Promise.allSettled([b.add(1), b.add(-2), b.add(3)]);
    expect(results).toEqual([
      { status: "fulfilled", value: 10 },
      { status: "rejected", reason: new Error("bad -2") },
      { status: "fulfilled", value: 30 },
    ]);
  });

  it("runs what is waiting on close, then refuses new items", async () => {
    const b = new MicroBatch<number, number>({ run: async (xs) => xs, maxSize: 10, maxConcurrent: 1, lingerMs: 50 });
    const waiting = b.add(7);
    await b.close();
    await expect(waiting).resolves.toBe(7);
    await expect(b.add(8)).rejects.toThrow(/closed/);
  });
});
