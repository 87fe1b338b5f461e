/** One measured rate or amount, with what it counts. */
type Figure = { label: string; value: number; unit: string };

/** A stage's figure against the baseline measured beside it; `target` = the least ratio that passes. */
export type Comparison = { figure: Figure; baseline: Figure; target?: number };

export type Check = { target: string; pass: boolean; actual: string };

export type StageResult = {
  stage: string;
  /** What was measured, in one line. */
  workload: string;
  comparisons: Comparison[];
  /** Figures without a baseline: latencies, counts. */
  extra: Figure[];
  /** Peak resident set per service during the stage, MB. */
  rssMb: Record<string, number>;
  checks: Check[];
  elapsedMs: number;
  notes: string[];
};

/** Truncated to two decimals, so the printed ratio and its PASS/MISS always agree. */
const ratio = (c: Comparison): number => (c.baseline.value > 0 ? Math.floor((100 * c.figure.value) / c.baseline.value) / 100 : 0);

/** PASS when the comparison's ratio reaches its target. */
export function ratioCheck(target: string, c: Comparison): Check {
  return { target: `${target} ≥ ${c.target ?? 0} × ${c.baseline.label}`, pass: ratio(c) >= (c.target ?? 0), actual: ratio(c).toFixed(2) };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const mark = (pass: boolean): string => (pass ? "PASS" : "MISS");

const W = 62;

/** The human-readable block printed as soon as a stage ends. */
export function formatStage(r: StageResult): string {
  const out = [`== ${r.stage}: ${r.workload} (${fmt(r.elapsedMs / 1000, 1)} s)`];
  for (const c of r.comparisons) {
    out.push(`  ${c.figure.label.padEnd(W)} ${fmt(c.figure.value).padStart(10)} ${c.figure.unit}`);
    out.push(`  ${("baseline: " + c.baseline.label).padEnd(W)} ${fmt(c.baseline.value).padStart(10)} ${c.baseline.unit}`);
    out.push(`  ${"ratio".padEnd(W)} ${fmt(ratio(c), 2).padStart(10)}${c.target === undefined ? "" : `  (target ≥ ${c.target})`}`);
  }
  for (const f of r.extra) out.push(`  ${f.label.padEnd(W)} ${fmt(f.value, Number.isInteger(f.value) || f.value >= 100 ? 0 : 1).padStart(10)} ${f.unit}`);
  const rss = Object.entries(r.rssMb).map(([name, mb]) => `${name} ${fmt(mb)} MB`);
  if (rss.length > 0) out.push(`  peak RSS: ${rss.join(", ")}`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  for (const c of r.checks) out.push(`  ${mark(c.pass)}  ${c.target}: ${c.actual}`);
  return out.join("\n");
}

/** The summary as a markdown table, ready to paste into docs/benchmarks.md. */
export function formatSummary(results: StageResult[]): string {
  const rows = ["| stage | figure | baseline | ratio | target | result |", "|---|---|---|---|---|---|"];
  for (const r of results) {
    for (const c of r.comparisons) {
      const pass = c.target === undefined ? "" : mark(ratio(c) >= c.target);
      rows.push(
        `| ${r.stage} | ${fmt(c.figure.value)} ${c.figure.unit} | ${c.baseline.label}: ${fmt(c.baseline.value)} ${c.baseline.unit} | ${fmt(ratio(c), 2)} | ${c.target === undefined ? "—" : `≥ ${c.target}`} | ${pass} |`,
      );
    }
  }
  const checks = results.flatMap((r) => r.checks.map((c) => `- ${mark(c.pass)} ${r.stage}: ${c.target} — ${c.actual}`));
  const rss = results.map((r) => `- ${r.stage}: ${Object.entries(r.rssMb).map(([n, mb]) => `${n} ${fmt(mb)} MB`).join(", ") || "—"}`);
  return [...rows, "", "Targets:", ...checks, "", "Peak RSS per stage:", ...rss].join("\n");
}
