/**
 * dirbench: a reproducible benchmark harness for deep imbalanced regression (DIR) with multimodal
 * language models.
 *
 * This module is the library API: the answer parser, the shot-aware scorer and metrics, the paired
 * comparison, and the prepared-dataset and results formats. Training has its own entry points, since it
 * needs WebGPU and image decoding (more permissions): `./train` (bench/train.ts: `train`, `ensureBackbone`,
 * `loadTaskData`), `./methods` (the method registry) and `./config` (`loadConfig`, the presets).
 *
 * @example Score predictions held in memory
 * ```ts
 * import { scoreAligned } from "./mod.ts";
 *
 * const scored = scoreAligned(
 *   [20, 21, 21, 30],                                  // training labels (define the shot regions)
 *   [21, 30],                                          // test labels
 *   ["a", "b"],                                        // test ids
 *   [{ output: "<answer>23</answer>" }, { value: 29.5 }],
 *   { min: 0, max: 100, unit: "years", binWidth: 1 },
 *   { manyAbove: 100, fewBelow: 20 },
 * );
 * console.log(scored.metrics.all.mae); // 1.25
 * ```
 *
 * @module
 */

export { PARSE_POLICIES, parseAnswer } from "./bench/score/parse.ts";
export type { ParsedAnswer, ParsePolicy, ParseStatus } from "./bench/score/parse.ts";

export {
  binBounds,
  binCount,
  binIndex,
  buildShotTable,
  regionOf,
  regionOfCount,
  REGIONS,
} from "./bench/score/shots.ts";
export type { Region, ShotTable } from "./bench/score/shots.ts";

export { averageRanks, ccc, errorMetrics, GM_EPSILON, pearson, spearman } from "./bench/score/metrics.ts";
export type { ErrorMetrics } from "./bench/score/metrics.ts";

export { bootstrapErrorIntervals, DEFAULT_BOOTSTRAP } from "./bench/score/bootstrap.ts";
export type { BootstrapSettings, ErrorIntervals, Interval } from "./bench/score/bootstrap.ts";

export { binMetrics, scoreAligned, scoreDataset } from "./bench/score/score.ts";
export type {
  BinMetrics,
  Metrics,
  RegionMetrics,
  SampleRecord,
  ScoreOptions,
  ScoreOutput,
  ScoringPolicy,
} from "./bench/score/score.ts";

export { alignToTestSet, readPredictions, validatePredictions } from "./bench/score/predictions.ts";
export type { LocatedPrediction, PredictedAnswer, Prediction } from "./bench/score/predictions.ts";

export {
  buildResults,
  readResults,
  RESULTS_FORMAT,
  RESULTS_SCHEMA,
  resultsProblems,
} from "./bench/score/results.ts";
export type { Results } from "./bench/score/results.ts";

export { compareResults } from "./bench/score/compare.ts";
export type { BinComparison, Comparison, RegionComparison } from "./bench/score/compare.ts";

export { evaluate } from "./bench/score/evaluate.ts";
export type { EvaluateOptions, EvaluateOutput } from "./bench/score/evaluate.ts";
export { binMaeFigure, errorCurveFigure, gainFigure } from "./bench/score/figures.ts";

export {
  DATASET_FORMAT,
  DEFAULT_SHOTS,
  parseManifest,
  readManifest,
  readPreparedDataset,
  readSplit,
  writePreparedDataset,
} from "./datasets/format.ts";
export type {
  DatasetManifest,
  LabelSpec,
  ManifestInput,
  PreparedDataset,
  Sample,
  ShotThresholds,
  SplitData,
  SplitEntry,
} from "./datasets/format.ts";

export { InputError } from "./bench/core/errors.ts";
export { collectProvenance, DIRBENCH_VERSION } from "./bench/core/provenance.ts";
export type { AdapterInfo, Provenance } from "./bench/core/provenance.ts";
