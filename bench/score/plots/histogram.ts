/**
 * Label histogram of one dataset split with the shot regions shaded, for dataset cards: shows how
 * the samples spread over the label axis and which label ranges count as many-, medium- or few-shot.
 *
 * @module
 */

import {
  type BinBase,
  byLabel,
  checkBins,
  labelAxisTitle,
  labelRange,
  noData,
  regionBands,
  regionLegend,
} from "./_bins.ts";
import {
  el,
  escapeXml,
  FONT_SIZE,
  formatCount,
  formatNumber,
  type Frame,
  type LegendItem,
  plotFrame,
  type Region,
  REGION_COLORS,
  REGION_TINTS,
  svgDocument,
  textWidth,
  tint,
} from "./svg.ts";

/** One label bin of the histogram. */
export interface HistogramBin {
  /** Lower edge on the label axis. */
  lo: number;
  /** Upper edge on the label axis (> lo). */
  hi: number;
  /** Samples of the split in the bin. */
  count: number;
  /** Shot region of the bin, from the TRAINING counts (also when the split drawn is another one). */
  region: Region;
}

/** Input of {@linkcode labelHistogramSvg}. */
export interface LabelHistogramInput {
  /** Figure title. */
  title: string;
  /** Label unit, e.g. "years"; used in the x-axis title "label (years)". */
  unit: string;
  /** Label bins, in any order. */
  bins: HistogramBin[];
  /** Y-axis title (default "samples"). */
  countLabel?: string;
  /**
   * Shot thresholds on the training count per bin; when given, dashed horizontal reference lines
   * are drawn at these counts, labelled "many > 100" and "few < 20". Only meaningful on a training
   * histogram.
   */
  thresholds?: { manyAbove: number; fewBelow: number };
}

/** Bars narrower than this (px) are drawn edge to edge; wider ones get a 1 px gap. */
const GAP_MIN_WIDTH = 4;
/** A non-empty bin is at least this tall (px), so a 1-sample bin next to a 7,000-sample one still shows. */
const MIN_BAR_HEIGHT = 1;
const THRESHOLD_COLOR = "#222222";
const THRESHOLD_FONT = FONT_SIZE - 1;

/**
 * Label histogram of a dataset split: one bar per bin with `count > 0`, coloured by the bin's shot
 * region, in front of the region shading. The legend gives the number of bins in each region; with
 * `thresholds`, dashed lines mark the many- and few-shot counts.
 *
 * Bars wider than a few pixels are separated by a hairline gap; narrower ones (hundreds of bins) are
 * drawn edge to edge with crisp edges so no seams show. A non-empty bin is at least 1 px tall.
 *
 * @throws {RangeError} on bins with non-finite or empty edges, a negative or non-finite count, an
 * unknown region, or non-finite or negative thresholds.
 */
export function labelHistogramSvg(input: LabelHistogramInput): string {
  const fn = "labelHistogramSvg";
  input.bins.forEach((b, i) => {
    if (!(b.count >= 0) || !Number.isFinite(b.count)) {
      throw new RangeError(`${fn}: bin ${i} has count ${b.count}; need a finite count >= 0`);
    }
  });
  const bins: BinBase[] = input.bins.map((b) => ({
    lo: b.lo,
    hi: b.hi,
    trainCount: b.count,
    region: b.region,
  }));
  checkBins(bins, fn);
  const { thresholds } = input;
  if (thresholds !== undefined) {
    for (const [key, v] of Object.entries(thresholds)) {
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new RangeError(`${fn}: threshold ${key} is ${v}; need a finite count >= 0`);
      }
    }
  }

  const counts = bins.map((b) => b.trainCount);
  let total = 0;
  for (const c of counts) total += c;
  const countLabel = input.countLabel ?? "samples";
  const binsIn = (r: Region) => bins.filter((b) => b.region === r).length;
  const legend: LegendItem[] = [
    ...regionLegend(
      bins,
      (r) => REGION_COLORS[r],
      (r) => `${r}-shot (${plural(binsIn(r), "bin")})`,
    ),
    ...(bins.length === 0 ? [] : [{
      symbol: "none" as const,
      label: `${formatCount(total)} ${countLabel} in total; shot regions from training counts`,
    }]),
  ];

  const maxCount = Math.max(0, ...counts, ...(thresholds ? [thresholds.manyAbove, thresholds.fewBelow] : []));
  const frame = plotFrame({
    title: input.title,
    x: { title: labelAxisTitle(input.unit), ...labelRange(bins) },
    y: { title: countLabel, min: 0, max: maxCount, integer: true },
    legend,
  });
  const { x, y, plot } = frame;
  const y0 = y(0);

  const order = byLabel(bins).filter((i) => bins[i].trainCount > 0);
  const narrow = order.some((i) => x(bins[i].hi) - x(bins[i].lo) <= GAP_MIN_WIDTH);
  const gap = narrow ? 0 : 1;
  const bars = order.map((i) => {
    const b = bins[i];
    const x0 = x(b.lo);
    const h = Math.max(MIN_BAR_HEIGHT, y0 - y(b.trainCount));
    return el("rect", {
      "data-region": b.region,
      x: x0 + gap / 2,
      y: y0 - h,
      width: Math.max(0.5, x(b.hi) - x0 - gap),
      height: h,
      fill: tint(REGION_COLORS[b.region], 0.85),
    });
  });

  const body = [
    regionBands(bins, x, plot.top, plot.bottom, (r) => REGION_TINTS[r]),
    frame.grid,
    el("g", { class: "data", "shape-rendering": narrow ? "crispEdges" : undefined }, bars.join("")),
    thresholds ? thresholdLines(thresholds, frame) : "",
    bins.length === 0 ? noData(frame) : "",
    frame.axes,
  ];
  return svgDocument({ width: frame.width, height: frame.height, title: input.title, body: body.join("\n") });
}

function plural(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;
}

function formatThreshold(v: number): string {
  return Number.isInteger(v) ? formatCount(v) : formatNumber(v);
}

/**
 * Dashed lines across the plot at the threshold counts, labelled at the right end on a light
 * backing so bars don't obscure the text. Labels sit above their lines and are pushed apart when
 * the lines are close (a large maximum count squeezes both near the axis).
 */
function thresholdLines(
  t: { manyAbove: number; fewBelow: number },
  frame: Frame,
): string {
  const { plot, y } = frame;
  const lineHeight = THRESHOLD_FONT + 3;
  const items = [
    { key: "many", value: t.manyAbove, label: `many > ${formatThreshold(t.manyAbove)}` },
    { key: "few", value: t.fewBelow, label: `few < ${formatThreshold(t.fewBelow)}` },
  ].map((item) => ({ ...item, lineY: y(item.value), textY: y(item.value) - 4 }));
  // Lowest label first; each higher one keeps a line's height of distance from the one below.
  const stacked = [...items].sort((a, b) => b.textY - a.textY || a.key.localeCompare(b.key));
  for (let k = 1; k < stacked.length; k++) {
    stacked[k].textY = Math.min(stacked[k].textY, stacked[k - 1].textY - lineHeight);
  }
  // Keep labels inside the plot; shift the whole stack down if the top one would leave it.
  const overflow = plot.top + THRESHOLD_FONT - Math.min(...stacked.map((s) => s.textY));
  if (overflow > 0) { for (const s of stacked) s.textY += overflow; }

  const parts = items.map((item) => {
    const w = textWidth(item.label, THRESHOLD_FONT);
    const textX = plot.right - 4;
    return el(
      "g",
      { class: "threshold", "data-threshold": item.key },
      [
        el("line", {
          x1: plot.left,
          x2: plot.right,
          y1: item.lineY,
          y2: item.lineY,
          stroke: THRESHOLD_COLOR,
          "stroke-width": 1,
          "stroke-dasharray": "5 3",
        }),
        el("rect", {
          x: textX - w - 2,
          y: item.textY - THRESHOLD_FONT + 1,
          width: w + 4,
          height: THRESHOLD_FONT + 2,
          fill: "#ffffff",
          "fill-opacity": 0.8,
        }),
        el("text", {
          x: textX,
          y: item.textY,
          "text-anchor": "end",
          "font-size": THRESHOLD_FONT,
          fill: THRESHOLD_COLOR,
        }, escapeXml(item.label)),
      ].join(""),
    );
  });
  return el("g", { class: "thresholds" }, parts.join(""));
}
