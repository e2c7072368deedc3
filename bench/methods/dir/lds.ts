/**
 * LDS, label distribution smoothing (Yang et al., ICML 2021; methods.md §7.1): per-sample loss weights
 * `w_i ∝ 1/ñ_{b(y_i)}`, where ñ is the (optionally sqrt-ed or clipped) label histogram convolved with a
 * symmetric kernel, rescaled so the mean weight over the training set is 1. Follows
 * `_prepare_weights` and `get_lds_kernel_window` of YyzHarry/imbalanced-regression.
 *
 * Choices [U]: arithmetic is float64 (the repository casts weights to float32); a bin whose smoothed
 * count is 0 holds no training sample and gets weight 0 rather than the repository's 1/0.
 *
 * @module
 */

import { binCounts, binOf, type BinSpec } from "./bins.ts";

/** LDS / FDS kernel shapes (methods.md §7.1). */
export type KernelKind = "gaussian" | "triang" | "laplace";

/** Histogram reweighting before smoothing (methods.md §7.1). */
export type Reweight = "none" | "sqrt_inv" | "inverse";

/** A kernel: its shape, odd size `ks` and width `sigma` (ignored by `triang`). */
export interface KernelSpec {
  readonly kernel: KernelKind;
  readonly ks: number;
  readonly sigma: number;
}

/** The README's recommended kernel, gaussian ks 5 σ 2 (argparse's defaults, ks 9 σ 1, are not it). */
export const RECOMMENDED_KERNEL: KernelSpec = { kernel: "gaussian", ks: 5, sigma: 2 };

/**
 * scipy's `gaussian_filter1d(x, sigma)` (order 0, `truncate = 4.0`, `mode = 'reflect'`): correlation
 * with the normalised gaussian of radius `int(truncate·σ + 0.5)`, the input extended by half-sample
 * symmetric reflection (d c b a | a b c d | d c b a), repeated when the radius exceeds the length.
 */
export function gaussianFilter1d(x: ArrayLike<number>, sigma: number, truncate = 4.0): Float64Array {
  if (!(sigma > 0)) throw new RangeError(`sigma must be > 0, got ${sigma}`);
  const n = x.length;
  const radius = Math.trunc(truncate * sigma + 0.5);
  const phi = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let u = -radius; u <= radius; u++) total += phi[u + radius] = Math.exp(-0.5 * u * u / (sigma * sigma));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let u = -radius; u <= radius; u++) s += (phi[u + radius] / total) * x[reflectIndex(i + u, n)];
    out[i] = s;
  }
  return out;
}

// scipy's 'reflect': period 2n, the second half mirrored, so the edge sample repeats.
function reflectIndex(i: number, n: number): number {
  const m = ((i % (2 * n)) + 2 * n) % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

/**
 * The kernel window of `get_lds_kernel_window` (methods.md §7.1), length `ks`, centre at `(ks−1)/2`:
 * - gaussian: a length-`ks` delta blurred by {@linkcode gaussianFilter1d}(σ);
 * - triang: `scipy.signal.windows.triang(ks)`;
 * - laplace: `exp(−|u|/σ)/(2σ)` at u = −h..h.
 *
 * LDS divides by the max (`normalise = "max"`, peak 1); FDS divides by the sum (`"sum"`, methods.md §7.2).
 *
 * @example
 * ```ts
 * kernelWindow({ kernel: "gaussian", ks: 5, sigma: 2 }); // [0.858285, 0.945828, 1, 0.945828, 0.858285]
 * ```
 * @throws {RangeError} If `ks` is not a positive odd integer or σ ≤ 0 for gaussian/laplace.
 */
export function kernelWindow(spec: KernelSpec, normalise: "max" | "sum" = "max"): Float64Array {
  const { kernel, ks, sigma } = spec;
  if (!Number.isInteger(ks) || ks < 1 || ks % 2 === 0) {
    throw new RangeError(`ks must be odd and ≥ 1, got ${ks}`);
  }
  const h = (ks - 1) / 2;
  let w: Float64Array;
  if (kernel === "gaussian") {
    const delta = new Float64Array(ks);
    delta[h] = 1;
    w = gaussianFilter1d(delta, sigma);
  } else if (kernel === "triang") {
    // scipy's triang for odd M: 2n/(M+1), n = 1..(M+1)/2, mirrored; it never reaches 0 at the ends.
    w = Float64Array.from({ length: ks }, (_, i) => (2 * (Math.min(i, ks - 1 - i) + 1)) / (ks + 1));
  } else if (kernel === "laplace") {
    if (!(sigma > 0)) throw new RangeError(`sigma must be > 0, got ${sigma}`);
    w = Float64Array.from({ length: ks }, (_, i) => Math.exp(-Math.abs(i - h) / sigma) / (2 * sigma));
  } else {
    throw new RangeError(`unknown kernel ${kernel}`);
  }
  const d = normalise === "max" ? Math.max(...w) : w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / d);
}

/**
 * 1-D convolution `out_b = Σ_u k(u)·x_{b−u}`, u = −h..h, zero outside the array (scipy `convolve1d`
 * with `mode='constant'`, as LDS uses; methods.md §7.1).
 */
export function convolveZeroPad(x: ArrayLike<number>, kernel: ArrayLike<number>): Float64Array {
  const h = (kernel.length - 1) / 2;
  const out = new Float64Array(x.length);
  for (let b = 0; b < x.length; b++) {
    let s = 0;
    for (let u = -h; u <= h; u++) {
      const j = b - u;
      if (j >= 0 && j < x.length) s += kernel[u + h] * x[j];
    }
    out[b] = s;
  }
  return out;
}

/** Options of {@linkcode ldsWeights}. */
export interface LdsOptions {
  /** The label bins (the repositories: integer bins, 121 of them). */
  readonly bins: BinSpec;
  /** Histogram reweighting; `sqrt_inv` by default (README). */
  readonly reweight?: Reweight;
  /** The LDS kernel, or `false` for plain inverse/sqrt-inverse weighting; README's gaussian 5/2 by default. */
  readonly lds?: KernelSpec | false;
}

/** LDS weights fitted on a training set. */
export interface LdsWeights {
  /** The bins they were fitted on. */
  readonly bins: BinSpec;
  /** Raw per-bin training counts n_b. */
  readonly counts: Float64Array;
  /** The effective density ñ_b (after reweighting and smoothing). */
  readonly effective: Float64Array;
  /** Per-bin weight, `scale/ñ_b` (0 where ñ_b = 0), mean 1 over the training samples. */
  readonly binWeights: Float64Array;
  /** The weight of each label, looked up through its bin. */
  sampleWeights(labels: ArrayLike<number>): Float64Array;
}

/**
 * Fits LDS weights to the training labels (methods.md §7.1, `_prepare_weights`):
 * n_b → sqrt(n_b) (`sqrt_inv`) or clip(n_b, 5, 1000) (`inverse`) → ñ = kernel ∗ n (zero padding) →
 * w_b = 1/ñ_b, rescaled so that mean_i w_{b(y_i)} = 1 over `trainLabels`. Defaults are the README's
 * recommendation: `sqrt_inv` + gaussian ks 5 σ 2. `reweight: "none"` gives weight 1 everywhere.
 *
 * @throws {RangeError} With `reweight: "none"` and a kernel (the repository asserts against it), or no labels.
 */
export function ldsWeights(trainLabels: ArrayLike<number>, options: LdsOptions): LdsWeights {
  const { bins } = options;
  const reweight = options.reweight ?? "sqrt_inv";
  const lds = options.lds ?? RECOMMENDED_KERNEL;
  if (reweight === "none" && lds) throw new RangeError("LDS needs reweight sqrt_inv or inverse");
  if (trainLabels.length === 0) throw new RangeError("no training labels");
  const counts = binCounts(trainLabels, bins);
  let effective: Float64Array;
  if (reweight === "none") effective = new Float64Array(bins.bins).fill(1);
  else {
    const re = counts.map((n) => (reweight === "sqrt_inv" ? Math.sqrt(n) : Math.min(1000, Math.max(5, n))));
    effective = lds ? convolveZeroPad(re, kernelWindow(lds, "max")) : re;
  }
  const raw = effective.map((v) => (v > 0 ? 1 / v : 0));
  let total = 0;
  for (let i = 0; i < trainLabels.length; i++) total += raw[binOf(trainLabels[i], bins)];
  const scale = trainLabels.length / total;
  const binWeights = raw.map((v) => v * scale);
  return {
    bins,
    counts,
    effective,
    binWeights,
    sampleWeights: (labels) =>
      Float64Array.from({ length: labels.length }, (_, i) => binWeights[binOf(labels[i], bins)]),
  };
}
