/**
 * Per-bin MAE gain of one method over another against training density: shows whether an
 * imbalance-aware method helps where training data is scarce, and what it costs where it is not.
 *
 * @module
 */

import {
  checkBins,
  finiteMax,
  HISTOGRAM_COLOR,
  histogramStep,
  labelAxisTitle,
  labelRange,
  noData,
  plottable,
  regionLegend,
} from "./_bins.ts";
import { el, type LegendItem, plotFrame, type Region, REGION_COLORS, svgDocument, tint } from "./svg.ts";

/** One label bin with the gain of B over A. */
export interface GainBin {
  /** Lower edge on the label axis. */
  lo: number;
  /** Upper edge on the label axis (> lo). */
  hi: number;
  /** Training samples in the bin. */
  trainCount: number;
  /** MAE_A - MAE_B; null (or NaN) when either MAE is missing, drawn as no bar. */
  gain: number | null;
  /** Shot region of the bin. */
  region: Region;
}

/** Input of {@linkcode binGainSvg}. */
export interface BinGainInput {
  /** Figure title. */
  title: string;
  /** Label unit, e.g. "years". */
  unit: string;
  /** Name of the baseline A. */
  nameA: string;
  /** Name of the compared method B. */
  nameB: string;
  /** Label bins. */
  bins: GainBin[];
}

/**
 * Per-bin MAE gain of B over A (gain = MAE_A - MAE_B, positive = B better) against training density.
 *
 * Gains are bars from a zero line, coloured by the bin's shot region; the training histogram is a
 * light step outline on the right axis ("training samples") behind them.
 *
 * @throws {RangeError} on bins with non-finite or empty edges or a bad training count.
 */
export function binGainSvg(input: BinGainInput): string {
  const { bins } = input;
  checkBins(bins, "binGainSvg");
  const gains = bins.map((b) => plottable(b.gain));
  const finite = gains.filter((g): g is number => g !== null);

  const unit = input.unit === "" ? "" : ` (${input.unit})`;
  const legend: LegendItem[] = [
    ...regionLegend(bins, (r) => REGION_COLORS[r], (r) => `${r}-shot bin`),
    {
      symbol: "swatch",
      color: tint(HISTOGRAM_COLOR, 0.15),
      stroke: HISTOGRAM_COLOR,
      label: "training samples (right axis)",
    },
    {
      symbol: "none",
      label:
        `gain = MAE(${input.nameA}) \u2212 MAE(${input.nameB}); gain > 0: ${input.nameB} better than ${input.nameA}`,
    },
  ];

  const frame = plotFrame({
    title: input.title,
    x: { title: labelAxisTitle(input.unit), ...labelRange(bins) },
    // The zero line must always be on the axis, whatever the sign of the gains.
    y: { title: `MAE gain${unit}`, min: Math.min(0, ...finite), max: Math.max(0, ...finite) },
    y2: {
      title: "training samples",
      min: 0,
      max: finiteMax(bins.map((b) => b.trainCount), 0),
      integer: true,
    },
    legend,
  });
  const { x, y } = frame;
  const y0 = y(0);

  const bars = bins.flatMap((b, i) => {
    const g = gains[i];
    if (g === null) return [];
    const x0 = x(b.lo);
    const full = x(b.hi) - x0;
    // A hairline gap separates neighbouring bars of the same colour, unless bars are too thin for it.
    const gap = full > 4 ? 1 : 0;
    const yg = y(g);
    return [el("rect", {
      "data-region": b.region,
      x: x0 + gap / 2,
      y: Math.min(y0, yg),
      width: Math.max(0.5, full - gap),
      height: Math.abs(yg - y0),
      fill: REGION_COLORS[b.region],
      "fill-opacity": 0.85,
    })];
  });

  const body = [
    frame.grid,
    histogramStep(bins, x, frame.y2!),
    el("g", { class: "data" }, bars.join("")),
    el("line", {
      class: "zero",
      x1: frame.plot.left,
      x2: frame.plot.right,
      y1: y0,
      y2: y0,
      stroke: "#222222",
      "stroke-width": 1,
    }),
    bins.length === 0 ? noData(frame) : "",
    frame.axes,
  ];
  return svgDocument({ width: frame.width, height: frame.height, title: input.title, body: body.join("\n") });
}
