/**
 * Sorted absolute-error curves: for each region, its test samples sorted by |error|, so the curve
 * shows the whole error distribution (median, tail, worst case) rather than only the MAE.
 *
 * @module
 */

import {
  el,
  formatCount,
  formatNumber,
  type LegendItem,
  num,
  plotFrame,
  REGION_COLORS,
  svgDocument,
} from "./svg.ts";

/** Most points one curve's polyline gets, so figures of 200,000-sample test sets stay small. */
export const MAX_CURVE_POINTS = 1000;

/** One region's absolute errors, in any order. */
export interface ErrorCurveRegion {
  /** Region name; "all" is drawn in neutral grey. */
  name: "all" | "many" | "medium" | "few";
  /** Absolute errors; each must be finite and >= 0. */
  absErrors: readonly number[];
}

/** Input of {@linkcode sortedErrorCurveSvg}. */
export interface ErrorCurveInput {
  /** Figure title. */
  title: string;
  /** Label unit, e.g. "years"; used in the y-axis title "absolute error (years)". */
  unit: string;
  /** Regions in drawing and legend order. */
  regions: ErrorCurveRegion[];
}

/**
 * Sorted absolute-error curve per region: x = fraction of the region's samples (0..1) sorted
 * ascending by |error|, y = |error|. Regions without samples get no curve but keep their legend
 * entry ("few (n = 0)"). Each curve has at most {@linkcode MAX_CURVE_POINTS} points and always
 * includes the exact maximum.
 *
 * @throws {RangeError} if an error is negative, NaN or infinite.
 */
export function sortedErrorCurveSvg(input: ErrorCurveInput): string {
  const curves = input.regions.map((region) => {
    const sorted = Float64Array.from(region.absErrors);
    for (const e of sorted) {
      if (!(e >= 0) || e === Infinity) {
        throw new RangeError(`sortedErrorCurveSvg: region "${region.name}" has absolute error ${e}`);
      }
    }
    sorted.sort(); // typed arrays sort numerically
    let sum = 0;
    for (const e of sorted) sum += e;
    return { name: region.name, sorted, mae: sorted.length > 0 ? sum / sorted.length : null };
  });

  const maxError = Math.max(0, ...curves.map((c) => c.sorted.length > 0 ? c.sorted[c.sorted.length - 1] : 0));
  const unitSuffix = input.unit === "" ? "" : ` ${input.unit}`;
  const legend: LegendItem[] = curves.map((c) => ({
    symbol: "line",
    color: REGION_COLORS[c.name],
    label: c.mae === null
      ? `${c.name} (n = 0)`
      : `${c.name} (n = ${formatCount(c.sorted.length)}, MAE = ${formatNumber(c.mae)}${unitSuffix})`,
  }));

  const frame = plotFrame({
    title: input.title,
    x: { title: "fraction of region's samples, sorted by absolute error", min: 0, max: 1 },
    y: {
      title: input.unit === "" ? "absolute error" : `absolute error (${input.unit})`,
      min: 0,
      max: maxError,
    },
    legend,
  });

  const lines = curves.filter((c) => c.sorted.length > 0).map((c) => {
    const points = curvePoints(c.sorted, frame.x, frame.y, frame.plot, MAX_CURVE_POINTS);
    return el("polyline", {
      class: "curve",
      "data-region": c.name,
      "data-n": String(c.sorted.length),
      points: points.map(([x, y]) => `${num(x)},${num(y)}`).join(" "),
      fill: "none",
      stroke: REGION_COLORS[c.name],
      "stroke-width": 1.75,
      "stroke-linejoin": "round",
    });
  });

  return svgDocument({
    width: frame.width,
    height: frame.height,
    title: input.title,
    body: [frame.grid, el("g", { class: "data" }, lines.join("\n")), frame.axes].join("\n"),
  });
}

/**
 * Pixel points of the quantile curve of ascending `sorted` errors: (0, e[0]) then ((i + 1) / n, e[i]),
 * so the curve spans the full 0..1 width even for one sample and ends at the maximum.
 *
 * Thinning works on a pixel grid: a point is kept only when it enters a new grid cell. The curve is
 * monotone in x and y, so it crosses at most (width + height) / cell cells; choosing the cell size
 * from `maxPoints` bounds the output while keeping the steep tail, which uniform sampling in x would
 * flatten. The first and last (maximum) points are always kept.
 */
export function curvePoints(
  sorted: ArrayLike<number>,
  x: (v: number) => number,
  y: (v: number) => number,
  plot: { left: number; top: number; right: number; bottom: number },
  maxPoints: number,
): [number, number][] {
  const n = sorted.length;
  if (n === 0) return [];
  const cell = Math.max(1e-9, (plot.right - plot.left + plot.bottom - plot.top) / Math.max(1, maxPoints - 2));
  const cellOf = (
    px: number,
    py: number,
  ) => [Math.floor((px - plot.left) / cell), Math.floor((plot.bottom - py) / cell)];

  const out: [number, number][] = [[x(0), y(sorted[0])]];
  let [lastCx, lastCy] = cellOf(out[0][0], out[0][1]);
  for (let i = 0; i < n; i++) {
    const px = x((i + 1) / n);
    const py = y(sorted[i]);
    const [cx, cy] = cellOf(px, py);
    if (i === n - 1 || cx !== lastCx || cy !== lastCy) {
      out.push([px, py]);
      lastCx = cx;
      lastCy = cy;
    }
  }
  return out;
}
