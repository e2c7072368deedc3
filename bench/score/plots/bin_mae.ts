/**
 * Per-bin MAE over the label axis, drawn in front of the training histogram and the shot-region
 * shading, so it is visible at a glance where the error grows as training data thins out.
 *
 * @module
 */

import {
  byLabel,
  checkBins,
  finiteMax,
  HISTOGRAM_COLOR,
  histogramBars,
  labelAxisTitle,
  labelRange,
  noData,
  plottable,
  regionBands,
  regionLegend,
} from "./_bins.ts";
import {
  el,
  type LegendItem,
  num,
  plotFrame,
  type Region,
  REGION_COLORS,
  REGION_TINTS,
  svgDocument,
  tint,
} from "./svg.ts";

/** One label bin with its test MAE. */
export interface MaeBin {
  /** Lower edge on the label axis. */
  lo: number;
  /** Upper edge on the label axis (> lo). */
  hi: number;
  /** Training samples in the bin. */
  trainCount: number;
  /** Test samples in the bin. */
  n: number;
  /** Test MAE of the bin; null (or NaN) when there are no test samples, drawn as a gap. */
  mae: number | null;
  /** Shot region of the bin. */
  region: Region;
}

/** An MAE series aligned with the bins, e.g. one method of a comparison. */
export interface MaeSeries {
  /** Legend name. */
  name: string;
  /** One value per bin; null (or NaN) leaves a gap. */
  mae: (number | null)[];
}

/** Input of {@linkcode binMaeSvg}. */
export interface BinMaeInput {
  /** Figure title. */
  title: string;
  /** Label unit, e.g. "years". */
  unit: string;
  /** Label bins. */
  bins: MaeBin[];
  /** Extra MAE series aligned with `bins`; if absent, one series "MAE" from `bins[].mae`. */
  series?: MaeSeries[];
}

/**
 * Series colours: Okabe-Ito hues not used for the region tints behind them, with black first so a
 * single series has maximum contrast. Later series are also dashed so colour is not the only cue.
 */
const SERIES_COLORS = ["#000000", "#cc79a7", "#009e73", "#56b4e9", "#f0e442"];

/**
 * Per-bin MAE over the label axis, with the training histogram drawn behind it.
 *
 * The histogram uses the right axis ("training samples"), the label ranges of the shot regions are
 * shaded with light region tints, and each MAE series is drawn as points joined within runs of
 * bins that have a value, leaving gaps where the MAE is null.
 *
 * @throws {RangeError} on bins with non-finite or empty edges, a bad training count, or a series
 * whose length differs from the number of bins.
 */
export function binMaeSvg(input: BinMaeInput): string {
  const { bins } = input;
  checkBins(bins, "binMaeSvg");
  const series = (input.series ?? [{ name: "MAE", mae: bins.map((b) => b.mae) }]).map((s) => {
    if (s.mae.length !== bins.length) {
      throw new RangeError(
        `binMaeSvg: series ${JSON.stringify(s.name)} has ${s.mae.length} values for ${bins.length} bins`,
      );
    }
    return { name: s.name, mae: s.mae.map(plottable) };
  });

  const unit = input.unit === "" ? "" : ` (${input.unit})`;
  const legend: LegendItem[] = [
    ...series.map((s, i): LegendItem => ({
      symbol: "point",
      color: SERIES_COLORS[i % SERIES_COLORS.length],
      label: s.name,
    })),
    { symbol: "swatch", color: tint(HISTOGRAM_COLOR, 0.3), label: "training samples (right axis)" },
    ...regionLegend(bins, (r) => REGION_TINTS[r], (r) => `${r}-shot`, (r) => REGION_COLORS[r]),
  ];

  const frame = plotFrame({
    title: input.title,
    x: { title: labelAxisTitle(input.unit), ...labelRange(bins) },
    y: { title: `MAE${unit}`, min: 0, max: finiteMax(series.flatMap((s) => s.mae), 0) },
    y2: {
      title: "training samples",
      min: 0,
      max: finiteMax(bins.map((b) => b.trainCount), 0),
      integer: true,
    },
    legend,
  });
  const y2 = frame.y2!;

  const order = byLabel(bins);
  const centre = (i: number) => frame.x((bins[i].lo + bins[i].hi) / 2);
  const drawn = series.map((s, k) => {
    const color = SERIES_COLORS[k % SERIES_COLORS.length];
    const dash = k % 2 === 1 ? "5 3" : undefined;
    const lines: string[] = [];
    const dots: string[] = [];
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) {
        lines.push(el("polyline", {
          points: run.join(" "),
          fill: "none",
          stroke: color,
          "stroke-width": 1.5,
          "stroke-dasharray": dash,
          "stroke-linejoin": "round",
        }));
      }
      run = [];
    };
    for (const i of order) {
      const v = s.mae[i];
      if (v === null) {
        flush();
        continue;
      }
      const px = centre(i);
      const py = frame.y(v);
      run.push(`${num(px)},${num(py)}`);
      dots.push(el("circle", { cx: px, cy: py, r: 2.5, fill: color }));
    }
    flush();
    return el("g", { class: "series", "data-series": s.name }, lines.join("") + dots.join(""));
  });

  const body = [
    regionBands(bins, frame.x, frame.plot.top, frame.plot.bottom, (r) => REGION_TINTS[r]),
    frame.grid,
    histogramBars(bins, frame.x, y2),
    el("g", { class: "data" }, drawn.join("\n")),
    bins.length === 0 ? noData(frame) : "",
    frame.axes,
  ];
  return svgDocument({ width: frame.width, height: frame.height, title: input.title, body: body.join("\n") });
}
