/**
 * Standalone SVG figures for dirbench results: sorted error curves per shot region, per-bin MAE
 * over the label axis, the per-bin gain of one method over another, and the label histogram of a
 * dataset split for dataset cards. Each function returns a complete, deterministic SVG document as a
 * string; writing it to disk is up to the caller.
 *
 * @example
 * ```ts
 * import { sortedErrorCurveSvg } from "./mod.ts";
 * const svg = sortedErrorCurveSvg({
 *   title: "AgeDB-DIR: sorted absolute errors",
 *   unit: "years",
 *   regions: [{ name: "all", absErrors: [0.5, 1.5, 4] }],
 * });
 * ```
 *
 * @module
 */

export { type ErrorCurveInput, type ErrorCurveRegion, sortedErrorCurveSvg } from "./error_curve.ts";
export { type BinMaeInput, binMaeSvg, type MaeBin, type MaeSeries } from "./bin_mae.ts";
export { type BinGainInput, binGainSvg, type GainBin } from "./gain.ts";
export { type HistogramBin, type LabelHistogramInput, labelHistogramSvg } from "./histogram.ts";
