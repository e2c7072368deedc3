/**
 * The standard figures of a results file and of a comparison, built from their stored data.
 *
 * @module
 */

import type { Comparison } from "./compare.ts";
import { binGainSvg, binMaeSvg, sortedErrorCurveSvg } from "./plots/mod.ts";
import type { Results } from "./results.ts";
import { REGIONS } from "./shots.ts";

/** The sorted absolute-error curve per region of a results object. */
export function errorCurveFigure(results: Results): string {
  const regions = (["all", ...REGIONS] as const).map((name) => ({
    name,
    absErrors: results.samples.filter((s) => name === "all" || s.region === name).map((s) => s.absError),
  }));
  return sortedErrorCurveSvg({
    title: `${results.method.name} on ${results.dataset.id}: sorted absolute error`,
    unit: results.dataset.label.unit,
    regions,
  });
}

/** Per-bin MAE over the label axis, with the training histogram behind it. */
export function binMaeFigure(results: Results): string {
  return binMaeSvg({
    title: `${results.method.name} on ${results.dataset.id}: MAE per label bin`,
    unit: results.dataset.label.unit,
    bins: results.metrics.bins,
  });
}

/** The per-bin MAE gain of B over A against training density. */
export function gainFigure(cmp: Comparison, unit: string): string {
  return binGainSvg({
    title: `${cmp.b.method} vs ${cmp.a.method} on ${cmp.dataset.id}: MAE gain per label bin`,
    unit,
    nameA: cmp.a.method,
    nameB: cmp.b.method,
    bins: cmp.bins,
  });
}
