/**
 * Plain-text tables of metrics and comparisons, for the terminal.
 *
 * @module
 */

import type { Interval } from "./bootstrap.ts";
import type { Comparison } from "./compare.ts";
import type { Metrics } from "./score.ts";

const ROWS = ["all", "many", "medium", "few"] as const;

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined ? "–" : v.toFixed(digits);
}

function fmtCi(ci: Interval | null | undefined, digits = 2): string {
  return ci ? `[${ci[0].toFixed(digits)}, ${ci[1].toFixed(digits)}]` : "";
}

function fmtP(p: number | null): string {
  if (p === null) return "–";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

/** Lays out rows of cells as aligned columns (first column left-aligned, the rest right-aligned). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "))
    .join("\n");
}

/** The per-region MAE (with 95% CI), GM and MSE table, then the correlation and validity summary. */
export function metricsTable(metrics: Metrics): string {
  const level = Math.round(metrics.bootstrap.level * 100);
  const rows = [["region", "n", "MAE", `${level}% CI`, "GM", "MSE"]];
  for (const r of ROWS) {
    const m = metrics[r];
    rows.push([r, String(m.n), fmt(m.mae), fmtCi(m.ci.mae), fmt(m.gm), fmt(m.mse, 2)]);
  }
  const extras = [
    `balanced MAE ${fmt(metrics.balancedMae)}`,
    `Pearson ${fmt(metrics.pearson)}`,
    `Spearman ${fmt(metrics.spearman)}`,
    `CCC ${fmt(metrics.ccc)}`,
    `invalid ${metrics.invalid}`,
    `out of range ${metrics.outOfRange}`,
  ];
  if (metrics.fallback > 0) extras.push(`lenient fallback ${metrics.fallback}`);
  return `${table(rows)}\n${extras.join(" · ")}`;
}

/** The per-region paired comparison table. */
export function comparisonTable(cmp: Comparison): string {
  const level = Math.round(cmp.bootstrap.level * 100);
  const rows = [["region", "n", `MAE ${cmp.a.method}`, `MAE ${cmp.b.method}`, "B − A", `${level}% CI`, "p"]];
  for (const r of ROWS) {
    const c = cmp.regions[r];
    rows.push([r, String(c.n), fmt(c.maeA), fmt(c.maeB), fmt(c.diff), fmtCi(c.ci, 3), fmtP(c.p)]);
  }
  const notes = cmp.warnings.map((w) => `warning: ${w}`);
  return [table(rows), `B − A < 0: ${cmp.b.method} has the lower MAE`, ...notes].join("\n");
}
