/**
 * Percentile bootstrap confidence intervals for the error metrics, seeded so they are reproducible.
 *
 * @module
 */

import { quantileSorted } from "simple-statistics";
import { randomInt, type Rng } from "../core/rng.ts";
import { GM_EPSILON } from "./metrics.ts";

/** How the intervals are computed; recorded in every results file. */
export interface BootstrapSettings {
  /** Number of resamples (default 1000). */
  resamples: number;
  /** Seed of the resampling stream. */
  seed: number;
  /** Confidence level (default 0.95). */
  level: number;
}

/** Defaults used when the caller does not choose. */
export const DEFAULT_BOOTSTRAP: BootstrapSettings = { resamples: 1000, seed: 0, level: 0.95 };

/** A closed interval [low, high]. */
export type Interval = [number, number];

/** Intervals for one region's MAE, MSE and GM. Null when the region is empty. */
export interface ErrorIntervals {
  /** Interval for the mean absolute error. */
  mae: Interval | null;
  /** Interval for the mean squared error. */
  mse: Interval | null;
  /** Interval for the geometric mean of |e|. */
  gm: Interval | null;
}

/** The lower and upper percentile of sorted bootstrap statistics for a two-sided `level` interval. */
export function percentileInterval(sorted: ArrayLike<number>, level: number): Interval {
  const alpha = (1 - level) / 2;
  const xs = Array.from(sorted);
  return [quantileSorted(xs, alpha), quantileSorted(xs, 1 - alpha)];
}

/**
 * Draws one bootstrap resample of n = `counts.length` items as multiplicities: `counts[i]` is how often
 * item i was drawn. Accumulating over counts reads the data sequentially, which stays fast when the data
 * outgrows the cache (gathering n random indices does not).
 */
export function resampleCounts(counts: Int32Array, rng: Rng): Int32Array {
  const n = counts.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[randomInt(rng, n)]++;
  return counts;
}

/** Per-resample sums of |e|, e² and ln(|e| + ε) over one stratum's resamples. */
export interface ResampledSums {
  /** Samples in the stratum (each resample draws this many). */
  n: number;
  /** Sum of |e| in each resample. */
  abs: Float64Array;
  /** Sum of e² in each resample. */
  sq: Float64Array;
  /** Sum of ln(|e| + ε) in each resample. */
  log: Float64Array;
}

/**
 * Resamples one stratum's absolute errors with replacement `resamples` times and returns the sums the
 * three error metrics are built from. Cost is O(resamples × n).
 */
export function resampleErrorSums(absErrors: ArrayLike<number>, resamples: number, rng: Rng): ResampledSums {
  const n = absErrors.length;
  const sums = {
    n,
    abs: new Float64Array(resamples),
    sq: new Float64Array(resamples),
    log: new Float64Array(resamples),
  };
  if (n === 0) return sums;
  const abs = Float64Array.from(absErrors, Math.abs);
  const logs = abs.map((e) => Math.log(e + GM_EPSILON));
  const counts = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    resampleCounts(counts, rng);
    let sa = 0, ss = 0, sl = 0;
    for (let i = 0; i < n; i++) {
      const k = counts[i];
      if (k === 0) continue;
      const e = abs[i];
      sa += k * e;
      ss += k * e * e;
      sl += k * logs[i];
    }
    sums.abs[b] = sa;
    sums.sq[b] = ss;
    sums.log[b] = sl;
  }
  return sums;
}

/**
 * Combines strata resampled independently into the resamples of their union: a stratified bootstrap,
 * where each stratum keeps its size in every resample.
 */
export function addSums(strata: readonly ResampledSums[]): ResampledSums {
  const B = strata[0].abs.length;
  const total = { n: 0, abs: new Float64Array(B), sq: new Float64Array(B), log: new Float64Array(B) };
  for (const s of strata) {
    total.n += s.n;
    for (let b = 0; b < B; b++) {
      total.abs[b] += s.abs[b];
      total.sq[b] += s.sq[b];
      total.log[b] += s.log[b];
    }
  }
  return total;
}

/** Percentile intervals of MAE, MSE and GM from resampled sums; nulls for an empty stratum. */
export function intervalsFromSums(sums: ResampledSums, level: number): ErrorIntervals {
  const { n } = sums;
  if (n === 0) return { mae: null, mse: null, gm: null };
  return {
    mae: percentileInterval(sums.abs.map((s) => s / n).sort(), level),
    mse: percentileInterval(sums.sq.map((s) => s / n).sort(), level),
    gm: percentileInterval(sums.log.map((s) => Math.exp(s / n)).sort(), level),
  };
}

/** Percentile bootstrap intervals of MAE, MSE and GM for one set of absolute errors. */
export function bootstrapErrorIntervals(
  absErrors: ArrayLike<number>,
  settings: Pick<BootstrapSettings, "resamples" | "level">,
  rng: Rng,
): ErrorIntervals {
  return intervalsFromSums(resampleErrorSums(absErrors, settings.resamples, rng), settings.level);
}
