/**
 * The scorer: predictions against a prepared dataset's test labels, with shot-aware metrics. The CLI, the
 * trainer and the leaderboard all call {@linkcode scoreDataset}; nothing else turns model output into
 * numbers.
 *
 * @module
 */

import { median } from "simple-statistics";
import type { LabelSpec, PreparedDataset, ShotThresholds } from "../../datasets/format.ts";
import { seededRng } from "../core/rng.ts";
import {
  addSums,
  type BootstrapSettings,
  DEFAULT_BOOTSTRAP,
  type ErrorIntervals,
  intervalsFromSums,
  type ResampledSums,
  resampleErrorSums,
} from "./bootstrap.ts";
import { ccc, type ErrorMetrics, errorMetrics, pearson, spearman } from "./metrics.ts";
import { parseAnswer, type ParsePolicy, type ParseStatus } from "./parse.ts";
import { alignToTestSet, type LocatedPrediction, type PredictedAnswer } from "./predictions.ts";
import {
  binBounds,
  binIndex,
  buildShotTable,
  type Region,
  regionOf,
  regionOfCount,
  REGIONS,
  type ShotTable,
} from "./shots.ts";

/** What happens to outputs that cannot be used as they are; recorded in every results file. */
export interface ScoringPolicy {
  /** How text outputs were parsed. */
  parse: ParsePolicy;
  /** Invalid predictions are scored as this value, the median of the training labels. */
  invalid: { rule: "train-median"; value: number };
  /** Out-of-range predictions are kept unclamped and counted. */
  outOfRange: "keep";
}

/** One scored test sample. */
export interface SampleRecord {
  /** Test id. */
  id: string;
  /** Ground-truth label. */
  label: number;
  /** The raw model output, or null for numeric predictions. */
  output: string | null;
  /** How the prediction was obtained. */
  status: ParseStatus;
  /** The number scored: the parsed or given value, or the invalid-prediction fallback. */
  value: number;
  /** Whether the value lies outside the label range. */
  outOfRange: boolean;
  /** The shot region of the label's bin. */
  region: Region;
  /** |value − label|. */
  absError: number;
}

/** A region's metrics with their bootstrap intervals. */
export type RegionMetrics = ErrorMetrics & { ci: ErrorIntervals };

/** One label bin's test count and MAE. */
export interface BinMetrics {
  /** Bin index: floor((label − min) / binWidth). */
  bin: number;
  /** Lower edge (inclusive). */
  lo: number;
  /** Upper edge (exclusive). */
  hi: number;
  /** Training samples in the bin. */
  trainCount: number;
  /** The bin's shot region. */
  region: Region;
  /** Test samples in the bin. */
  n: number;
  /** MAE of those test samples, null when none. */
  mae: number | null;
}

/** All metrics of one scored predictions set. */
export interface Metrics {
  /** The whole test set. */
  all: RegionMetrics;
  /** Many-shot region. */
  many: RegionMetrics;
  /** Medium-shot region. */
  medium: RegionMetrics;
  /** Few-shot region. */
  few: RegionMetrics;
  /** Mean of per-bin MAE over bins with test samples (every label range weighs the same). */
  balancedMae: number | null;
  /** Pearson correlation of values and labels. */
  pearson: number | null;
  /** Spearman correlation (average ranks for ties). */
  spearman: number | null;
  /** Lin's concordance correlation coefficient (population moments). */
  ccc: number | null;
  /** Predictions with no usable number, scored as the training median. */
  invalid: number;
  /** Predictions found only by the lenient fallback. */
  fallback: number;
  /** Predictions outside the label range (kept, not clamped). */
  outOfRange: number;
  /** Per-bin counts and MAE over the whole label range. */
  bins: BinMetrics[];
  /** How the confidence intervals were computed. */
  bootstrap: BootstrapSettings & { method: "percentile"; unit: "sample"; strata: "region" };
}

/** Options of {@linkcode scoreDataset}. */
export interface ScoreOptions {
  /** Parse policy for text outputs (default strict). */
  parse?: ParsePolicy;
  /** Bootstrap settings (default 1000 resamples, seed 0, 95%). */
  bootstrap?: Partial<BootstrapSettings>;
}

/** The scorer's output: the policy, per-sample records and metrics. */
export interface ScoreOutput {
  /** The policy in force. */
  policy: ScoringPolicy;
  /** Per-sample records in test-file order. */
  samples: SampleRecord[];
  /** The metrics. */
  metrics: Metrics;
  /** The bins and their training counts. */
  shotTable: ShotTable;
}

/**
 * Scores predictions against a prepared dataset. `file` names the predictions file in error messages.
 * Throws an InputError when predictions miss or invent test ids.
 */
export function scoreDataset(
  dataset: PreparedDataset,
  predictions: readonly LocatedPrediction[],
  options: ScoreOptions = {},
  file = "predictions",
): ScoreOutput {
  const { label, shots } = dataset.manifest;
  const test = dataset.test.samples;
  const aligned = alignToTestSet(predictions, test.map((s) => s.id), file);
  return scoreAligned(
    dataset.train.samples.map((s) => s.label),
    test.map((s) => s.label),
    test.map((s) => s.id),
    aligned,
    label,
    shots,
    options,
  );
}

/**
 * Scores predictions already aligned with the test samples (same order, same length). The building block
 * of {@linkcode scoreDataset}, for callers that hold labels in memory (the trainer, tests).
 */
export function scoreAligned(
  trainLabels: readonly number[],
  testLabels: readonly number[],
  testIds: readonly string[],
  predictions: readonly PredictedAnswer[],
  label: LabelSpec,
  shots: ShotThresholds,
  options: ScoreOptions = {},
): ScoreOutput {
  if (testLabels.length !== predictions.length || testIds.length !== predictions.length) {
    throw new RangeError(`${predictions.length} predictions for ${testLabels.length} test labels`);
  }
  if (trainLabels.length === 0) {
    throw new RangeError("the training split is empty: no median, no shot regions");
  }
  const parse = options.parse ?? "strict";
  const bootstrap = { ...DEFAULT_BOOTSTRAP, ...options.bootstrap };
  const policy: ScoringPolicy = {
    parse,
    invalid: { rule: "train-median", value: median(trainLabels as number[]) },
    outOfRange: "keep",
  };
  const table = buildShotTable(trainLabels, label, shots);

  const samples: SampleRecord[] = new Array(testLabels.length);
  let invalid = 0, fallback = 0, outOfRange = 0;
  for (let i = 0; i < testLabels.length; i++) {
    const p = predictions[i];
    let value: number, status: ParseStatus;
    if (p.output !== undefined) {
      const parsed = parseAnswer(p.output, parse);
      status = parsed.status;
      value = parsed.value ?? policy.invalid.value;
    } else {
      status = "value";
      value = p.value;
    }
    if (status === "invalid") invalid++;
    if (status === "fallback") fallback++;
    // An invalid prediction is scored as the median, which is in range; only real predictions count here.
    const isOut = status !== "invalid" && (value < label.min || value > label.max);
    if (isOut) outOfRange++;
    const y = testLabels[i];
    samples[i] = {
      id: testIds[i],
      label: y,
      output: p.output ?? null,
      status,
      value,
      outOfRange: isOut,
      region: regionOf(y, table),
      absError: Math.abs(value - y),
    };
  }

  const values = samples.map((s) => s.value);
  // Stratified bootstrap: each region is resampled on its own stream, keeping its size, and "all" adds
  // the three regions' resamples. The test set's region sizes are fixed by its design, not drawn at random.
  const errors = Object.fromEntries(
    REGIONS.map((r) => [r, Float64Array.from(samples.filter((s) => s.region === r), (s) => s.absError)]),
  ) as Record<Region, Float64Array>;
  const sums = Object.fromEntries(
    REGIONS.map((
      r,
      k,
    ) => [r, resampleErrorSums(errors[r], bootstrap.resamples, seededRng(bootstrap.seed * 4 + k + 1))]),
  ) as Record<Region, ResampledSums>;
  const regionMetrics = (region: Region | "all"): RegionMetrics => {
    const e = region === "all" ? Float64Array.from(samples, (s) => s.absError) : errors[region];
    const s = region === "all" ? addSums(REGIONS.map((r) => sums[r])) : sums[region];
    return { ...errorMetrics(e), ci: intervalsFromSums(s, bootstrap.level) };
  };
  const bins = binMetrics(samples, table);
  const filled = bins.filter((b) => b.mae !== null);
  return {
    policy,
    samples,
    shotTable: table,
    metrics: {
      all: regionMetrics("all"),
      many: regionMetrics("many"),
      medium: regionMetrics("medium"),
      few: regionMetrics("few"),
      balancedMae: filled.length === 0 ? null : filled.reduce((s, b) => s + b.mae!, 0) / filled.length,
      pearson: pearson(values, testLabels),
      spearman: spearman(values, testLabels),
      ccc: ccc(values, testLabels),
      invalid,
      fallback,
      outOfRange,
      bins,
      bootstrap: { ...bootstrap, method: "percentile", unit: "sample", strata: "region" },
    },
  };
}

/** Per-bin test counts and MAE over every bin of the label range. */
export function binMetrics(samples: readonly SampleRecord[], table: ShotTable): BinMetrics[] {
  const nBins = table.trainCounts.length;
  const n = new Array<number>(nBins).fill(0);
  const sumAbs = new Array<number>(nBins).fill(0);
  for (const s of samples) {
    const b = Math.min(nBins - 1, Math.max(0, binIndex(s.label, table.label)));
    n[b]++;
    sumAbs[b] += s.absError;
  }
  return table.trainCounts.map((trainCount, bin) => {
    const [lo, hi] = binBounds(bin, table.label);
    return {
      bin,
      lo,
      hi,
      trainCount,
      region: regionOfCount(trainCount, table.shots),
      n: n[bin],
      mae: n[bin] === 0 ? null : sumAbs[bin] / n[bin],
    };
  });
}
