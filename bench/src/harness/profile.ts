import { readdirSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber?: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

const root = new URL("../../../", import.meta.url).pathname;

function where(f: CallFrame): string {
  const url = f.url.replace(/^file:\/\//, "");
  const short = url.includes("/node_modules/")
    ? url.replace(/^.*\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, "")
    : url.startsWith(root)
      ? url.slice(root.length)
      : url || "(native)";
  // tsx (the bench's own code) emits each module on few lines, so line 1 says nothing: name the
  // file alone then. Bundled services are mapped back to their .ts lines first (original()).
  const line = f.url && f.lineNumber > 0 ? `:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"} ${short}${line}`;
}

const sourceMaps = new Map<string, SourceMap | null>();

/**
 * The TypeScript file and line of a frame in a service bundle (`dist/*.js`, ADR 0007), through
 * the source map beside it; other frames as they are.
 */
function original(f: CallFrame): CallFrame {
  if (!f.url.startsWith(`file://${root}`) || !f.url.includes("/dist/") || f.url.includes("/node_modules/")) return f;
  const file = fileURLToPath(f.url);
  let map = sourceMaps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")));
    } catch {
      map = null; // no map, or one this reader cannot use: keep the bundle's own frames
    }
    sourceMaps.set(file, map);
  }
  const entry = map?.findEntry(f.lineNumber, f.columnNumber ?? 0);
  if (!entry || !("originalSource" in entry)) return f;
  const url = new URL(entry.originalSource, pathToFileURL(file)).href;
  return { ...f, url, lineNumber: entry.originalLine, columnNumber: entry.originalColumn };
}

/** The package a frame belongs to, or "ours" for workspace code, "node" for node internals. */
function owner(f: CallFrame): string {
  const url = f.url;
  const m = /\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith("node:")) return "node internals";
  if (url.includes("/services/") || url.includes("/packages/")) return "ours (services/, packages/)";
  return f.functionName.startsWith("(") ? f.functionName : "other/native";
}

/**
 * Reads a `.cpuprofile` (node --cpu-prof) and lists where the time went: the top functions by
 * self time, time per package, and our own functions by inclusive time (the callers to batch).
 */
export function summarizeProfile(file: string, top = 15): string {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  for (const n of p.nodes) n.callFrame = original(n.callFrame);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i + 1] ?? 0;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") return;
    total += dt;
    const key = where(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    const o = owner(node.callFrame);
    pkg.set(o, (pkg.get(o) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!isOurs(f)) continue;
      const k = where(f);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });
  const wall = (p.endTime - p.startTime) / 1000;
  const pct = (us: number) => `${((100 * us) / Math.max(total, 1)).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `    ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  return [
    `  profile ${file}: ${(total / 1000).toFixed(0)} ms on CPU of ${wall.toFixed(0)} ms wall (${((100 * total) / 1000 / Math.max(wall, 1)).toFixed(0)}% busy)`,
    "  self time by package:",
    ...list(pkg),
    "  self time by function:",
    ...list(self),
    "  inclusive time in our code (services/, packages/):",
    ...list(inclusive),
  ].join("\n");
}

type HeapNode = { callFrame: CallFrame; selfSize: number; children: HeapNode[] };

const isOurs = (f: CallFrame) => (f.url.includes("/services/") || f.url.includes("/packages/")) && !f.url.includes("/node_modules/");

/**
 * Reads a sampling heap profile (every allocation, collected ones included) and lists who
 * allocates: bytes per package, per function, and inclusive per function of our code.
 */
export function summarizeHeapProfile(file: string, top = 12): string {
  const { head } = JSON.parse(readFileSync(file, "utf8")) as { head: HeapNode };
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  const walk = (node: HeapNode, ours: string[]) => {
    node.callFrame = original(node.callFrame);
    const key = where(node.callFrame);
    const chain = isOurs(node.callFrame) && !ours.includes(key) ? [...ours, key] : ours;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(self, key, node.selfSize);
      add(pkg, owner(node.callFrame), node.selfSize);
      for (const k of chain) add(inclusive, k, node.selfSize);
    }
    for (const child of node.children) walk(child, chain);
  };
  walk(head, []);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0).padStart(6)} MB`;
  const list = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, b]) => `    ${((100 * b) / Math.max(total, 1)).toFixed(1).padStart(5)}%  ${mb(b)}  ${k}`);
  return [
    `  allocations ${file}: ${mb(total).trim()} allocated in all (sampled, collected objects included)`,
    "  by package:",
    ...list(pkg),
    "  by function:",
    ...list(self),
    "  inclusive in our code (services/, packages/):",
    ...list(inclusive),
  ].join("\n");
}

/** The profiles with this extension in `dir` (one per profiled process), newest first. */
export function profilesIn(dir: string, ext = ".cpuprofile"): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  } catch {
    return [];
  }
}
