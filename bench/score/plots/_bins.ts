/**
 * Pieces shared by the per-bin figures: input checks, region shading, the training histogram on the
 * right axis and the legend entries explaining them. Private to this folder.
 *
 * @module
 */

import {
  el,
  escapeXml,
  FONT_SIZE,
  type Frame,
  type LegendItem,
  num,
  type Region,
  type Scale,
} from "./svg.ts";

/** The fields of a label bin that every per-bin figure uses. */
export interface BinBase {
  /** Lower edge on the label axis. */
  lo: number;
  /** Upper edge on the label axis (> lo). */
  hi: number;
  /** Training samples in the bin. */
  trainCount: number;
  /** Shot region of the bin. */
  region: Region;
}

/** Grey of the training histogram; neutral so it never reads as a region. */
export const HISTOGRAM_COLOR = "#8c8c8c";

const REGION_ORDER: readonly Region[] = ["many", "medium", "few"];

/** Throws a RangeError naming the function and bin when a bin's edges or count are unusable. */
export function checkBins(bins: readonly BinBase[], fn: string): void {
  bins.forEach((b, i) => {
    if (!Number.isFinite(b.lo) || !Number.isFinite(b.hi) || !(b.lo < b.hi)) {
      throw new RangeError(`${fn}: bin ${i} has edges [${b.lo}, ${b.hi}); need finite lo < hi`);
    }
    if (!(b.trainCount >= 0) || !Number.isFinite(b.trainCount)) {
      throw new RangeError(`${fn}: bin ${i} has trainCount ${b.trainCount}; need a finite count >= 0`);
    }
    if (!REGION_ORDER.includes(b.region)) {
      throw new RangeError(`${fn}: bin ${i} has unknown region ${JSON.stringify(b.region)}`);
    }
  });
}

/** Bin indices ordered along the label axis (input order may differ). */
export function byLabel(bins: readonly BinBase[]): number[] {
  return bins.map((_, i) => i).sort((a, b) => bins[a].lo - bins[b].lo || a - b);
}

/** The label range the bins cover, or [0, 1] when there are none. */
export function labelRange(bins: readonly BinBase[]): { min: number; max: number } {
  if (bins.length === 0) return { min: 0, max: 1 };
  return { min: Math.min(...bins.map((b) => b.lo)), max: Math.max(...bins.map((b) => b.hi)) };
}

/** A value usable for plotting, or null for a gap (null, NaN, infinite). */
export function plottable(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Largest finite value, or `fallback` when there is none. */
export function finiteMax(values: readonly (number | null)[], fallback: number): number {
  let max = -Infinity;
  for (const v of values) if (v !== null && Number.isFinite(v) && v > max) max = v;
  return max === -Infinity ? fallback : max;
}

/** Rectangles of colour `fill(region)` spanning each run of neighbouring bins of one region. */
export function regionBands(
  bins: readonly BinBase[],
  x: Scale,
  top: number,
  bottom: number,
  fill: (region: Region) => string,
): string {
  const order = byLabel(bins);
  const rects: string[] = [];
  let i = 0;
  while (i < order.length) {
    const region = bins[order[i]].region;
    const lo = bins[order[i]].lo;
    let hi = bins[order[i]].hi;
    let j = i + 1;
    while (j < order.length && bins[order[j]].region === region) hi = Math.max(hi, bins[order[j++]].hi);
    rects.push(el("rect", {
      "data-region": region,
      x: x(lo),
      y: top,
      width: x(hi) - x(lo),
      height: bottom - top,
      fill: fill(region),
    }));
    i = j;
  }
  return el("g", { class: "regions" }, rects.join(""));
}

/** Training histogram as bars from the right axis' zero. */
export function histogramBars(bins: readonly BinBase[], x: Scale, y2: Scale): string {
  const bars = bins.map((b) => {
    const x0 = x(b.lo);
    const w = Math.max(0.5, x(b.hi) - x0);
    return el("rect", {
      x: x0,
      y: y2(b.trainCount),
      width: w,
      height: y2(0) - y2(b.trainCount),
      fill: HISTOGRAM_COLOR,
      "fill-opacity": 0.3,
    });
  });
  return el("g", { class: "histogram" }, bars.join(""));
}

/**
 * Training histogram as a lightly filled step outline, for figures whose foreground already uses
 * bars. The outline drops to zero between bins that don't touch so gaps in the label axis show.
 */
export function histogramStep(bins: readonly BinBase[], x: Scale, y2: Scale): string {
  const order = byLabel(bins);
  if (order.length === 0) return "";
  const zero = y2(0);
  const pts: string[] = [];
  const at = (px: number, py: number) => pts.push(`${num(px)},${num(py)}`);
  order.forEach((idx, k) => {
    const b = bins[idx];
    const prev = k > 0 ? bins[order[k - 1]] : undefined;
    if (prev === undefined || prev.hi !== b.lo) {
      if (prev !== undefined) at(x(prev.hi), zero);
      at(x(b.lo), zero);
    }
    at(x(b.lo), y2(b.trainCount));
    at(x(b.hi), y2(b.trainCount));
  });
  at(x(bins[order[order.length - 1]].hi), zero);
  return el("polygon", {
    class: "histogram",
    points: pts.join(" "),
    fill: HISTOGRAM_COLOR,
    "fill-opacity": 0.15,
    stroke: HISTOGRAM_COLOR,
    "stroke-width": 1.25,
    "stroke-linejoin": "round",
  });
}

/** Legend swatches for the regions present in `bins`, in many/medium/few order. */
export function regionLegend(
  bins: readonly BinBase[],
  color: (region: Region) => string,
  label: (region: Region) => string,
  stroke?: (region: Region) => string,
): LegendItem[] {
  return REGION_ORDER.filter((r) => bins.some((b) => b.region === r)).map((r) => ({
    symbol: "swatch",
    color: color(r),
    stroke: stroke?.(r),
    label: label(r),
  }));
}

/** A centred "no data" note for figures without bins, so an empty input still makes a readable file. */
export function noData(frame: Frame): string {
  return el("text", {
    x: (frame.plot.left + frame.plot.right) / 2,
    y: (frame.plot.top + frame.plot.bottom) / 2,
    "text-anchor": "middle",
    "font-size": FONT_SIZE + 2,
    fill: "#777777",
  }, escapeXml("no data"));
}

/** X-axis title for the label axis. */
export function labelAxisTitle(unit: string): string {
  return unit === "" ? "label" : `label (${unit})`;
}
