/**
 * Balanced MSE (Ren et al., CVPR 2022; methods.md §7.5): BMC, GAI and BNI, each with the learnable
 * noise scale σ (`noise_sigma`) and the factor `stopgrad(2σ²)` of `balanaced_mse.py` in
 * jiawei-ren/BalancedMSE. Every loss returns its exact gradients with respect to the predictions and
 * to σ (the repository's parameter), and to log σ for trainers that prefer that parametrisation.
 *
 * @module
 */

import { binCounts, type BinSpec } from "./bins.ts";
import { convolveZeroPad, type KernelSpec, kernelWindow } from "./lds.ts";

/** argparse's `init_noise_sigma`. */
export const DEFAULT_INIT_NOISE_SIGMA = 1.0;
/** The README's IMDB-WIKI recipes' `init_noise_sigma`. */
export const README_INIT_NOISE_SIGMA = 10.0;
/** σ's own learning rate, `sigma_lr`. */
export const DEFAULT_SIGMA_LR = 1e-2;

/** How a trainer sets up σ (methods.md §7.5); `fixNoiseSigma` freezes it (`--fix_noise_sigma`). */
export interface NoiseSigmaOptions {
  readonly initNoiseSigma?: number;
  readonly sigmaLr?: number;
  readonly fixNoiseSigma?: boolean;
}

/** {@linkcode NoiseSigmaOptions} with the repository's defaults filled in (σ₀ 1, lr 1e-2, learnable). */
export function noiseSigmaOptions(options: NoiseSigmaOptions = {}): Required<NoiseSigmaOptions> {
  const o = {
    initNoiseSigma: DEFAULT_INIT_NOISE_SIGMA,
    sigmaLr: DEFAULT_SIGMA_LR,
    fixNoiseSigma: false,
    ...options,
  };
  if (!(o.initNoiseSigma > 0)) throw new RangeError(`initNoiseSigma must be > 0, got ${o.initNoiseSigma}`);
  return o;
}

/** A Balanced-MSE loss and its gradients; `gradLogSigma = σ·gradSigma`. */
export interface NoiseLoss {
  readonly loss: number;
  readonly gradPred: Float64Array;
  readonly gradSigma: number;
  readonly gradLogSigma: number;
}

/**
 * BMC, batch Monte-Carlo (methods.md §7.5): `logits_ij = −(ŷ_i − y_j)²/(2σ²)`,
 * `L = stopgrad(2σ²)·mean_i CE(logits_i·, i)`.
 */
export function bmcLoss(pred: ArrayLike<number>, target: ArrayLike<number>, sigma: number): NoiseLoss {
  const b = checkBatch(pred, target, sigma);
  const v = sigma * sigma, c = 2 * v;
  const gradPred = new Float64Array(b);
  let sum = 0, dv = 0;
  const logits = new Float64Array(b);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < b; j++) logits[j] = -((pred[i] - target[j]) ** 2) / (2 * v);
    const { lse, probs } = softmax(logits);
    sum += lse - logits[i];
    // ∂CE_i/∂logit_ij = p_ij − δ_ij; ∂logit_ij/∂ŷ_i = −(ŷ_i − y_j)/v, ∂logit_ij/∂v = (ŷ_i − y_j)²/(2v²).
    for (let j = 0; j < b; j++) {
      const e = pred[i] - target[j], p = probs[j] - (i === j ? 1 : 0);
      gradPred[i] += p * (-e / v);
      dv += p * (e * e) / (2 * v * v);
    }
  }
  return finish(sum, gradPred, dv, b, sigma, c);
}

/** A 1-D Gaussian mixture: weights π_k, means μ_k, variances v_k. */
export interface Gmm {
  readonly weights: Float64Array;
  readonly means: Float64Array;
  readonly variances: Float64Array;
}

/**
 * GAI, GMM-based analytic integration (methods.md §7.5):
 * `L_i = (ŷ_i − y_i)²/(2σ²) + ½ log σ² + logsumexp_k[log π_k − ½ log(v_k + σ²) − (ŷ_i − μ_k)²/(2(v_k + σ²))]`,
 * `L = stopgrad(2σ²)·mean_i L_i`.
 */
export function gaiLoss(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  sigma: number,
  gmm: Gmm,
): NoiseLoss {
  const b = checkBatch(pred, target, sigma);
  const v = sigma * sigma, c = 2 * v, K = gmm.means.length;
  const gradPred = new Float64Array(b);
  const terms = new Float64Array(K);
  let sum = 0, dv = 0;
  for (let i = 0; i < b; i++) {
    const e = pred[i] - target[i];
    for (let k = 0; k < K; k++) {
      const s = gmm.variances[k] + v;
      terms[k] = Math.log(gmm.weights[k]) - 0.5 * Math.log(s) - (pred[i] - gmm.means[k]) ** 2 / (2 * s);
    }
    const { lse, probs } = softmax(terms);
    sum += (e * e) / (2 * v) + 0.5 * Math.log(v) + lse;
    gradPred[i] = e / v;
    dv += -(e * e) / (2 * v * v) + 1 / (2 * v);
    for (let k = 0; k < K; k++) {
      const s = gmm.variances[k] + v, d = pred[i] - gmm.means[k];
      gradPred[i] -= probs[k] * d / s;
      dv += probs[k] * (-1 / (2 * s) + (d * d) / (2 * s * s));
    }
  }
  return finish(sum, gradPred, dv, b, sigma, c);
}

/** The BNI histogram prior: bucket centres c_m and frequencies f_m (> 0, sum 1). */
export interface HistogramPrior {
  readonly centers: Float64Array;
  readonly weights: Float64Array;
}

/**
 * BNI, bin-based numerical integration (methods.md §7.5):
 * `L_i = (ŷ_i − y_i)²/(2σ²) + logsumexp_m[log f_m − (ŷ_i − c_m)²/(2σ²)]`, `L = stopgrad(2σ²)·mean_i L_i`.
 */
export function bniLoss(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  sigma: number,
  prior: HistogramPrior,
): NoiseLoss {
  const b = checkBatch(pred, target, sigma);
  const v = sigma * sigma, c = 2 * v, M = prior.centers.length;
  const gradPred = new Float64Array(b);
  const terms = new Float64Array(M);
  let sum = 0, dv = 0;
  for (let i = 0; i < b; i++) {
    const e = pred[i] - target[i];
    for (let m = 0; m < M; m++) {
      terms[m] = Math.log(prior.weights[m]) - (pred[i] - prior.centers[m]) ** 2 / (2 * v);
    }
    const { lse, probs } = softmax(terms);
    sum += (e * e) / (2 * v) + lse;
    gradPred[i] = e / v;
    dv += -(e * e) / (2 * v * v);
    for (let m = 0; m < M; m++) {
      const d = pred[i] - prior.centers[m];
      gradPred[i] -= probs[m] * d / v;
      dv += probs[m] * (d * d) / (2 * v * v);
    }
  }
  return finish(sum, gradPred, dv, b, sigma, c);
}

/**
 * The BNI prior from training labels (`get_bucket_info`, methods.md §7.5): per-bin counts, optionally
 * LDS-smoothed with the max-1 kernel and zero padding, empty bins dropped, normalised to sum 1.
 *
 * [U] Centres are `min + (b + centerOffset)·binWidth`; the default offset 0 gives the repository's
 * integer label k for integer bins (pass 0.5 for bin mid-points with continuous labels). Labels past
 * the last bin are clamped into it, where the repository drops those ≥ `max_target`.
 */
export function bniPrior(
  trainLabels: ArrayLike<number>,
  bins: BinSpec,
  options: { readonly lds?: KernelSpec | false; readonly centerOffset?: number } = {},
): HistogramPrior {
  const counts = binCounts(trainLabels, bins);
  const smoothed = options.lds ? convolveZeroPad(counts, kernelWindow(options.lds, "max")) : counts;
  const keep = [...smoothed.keys()].filter((k) => smoothed[k] > 0);
  const total = keep.reduce((a, k) => a + smoothed[k], 0);
  if (total === 0) throw new RangeError("no training labels");
  const offset = options.centerOffset ?? 0;
  return {
    centers: Float64Array.from(keep, (k) => bins.min + (k + offset) * bins.binWidth),
    weights: Float64Array.from(keep, (k) => smoothed[k] / total),
  };
}

/** Options of {@linkcode fitGmm1d}. */
export interface GmmFitOptions {
  /** Components K (8, `preprocess_gmm.py`). */
  readonly components?: number;
  /** EM iterations, always all of them (100). */
  readonly iterations?: number;
  /** Added to every variance, as scikit-learn's `reg_covar` (1e-6): the variance floor. */
  readonly regCovar?: number;
}

/**
 * A deterministic 1-D GMM fit by EM, standing in for `GaussianMixture(n_components=8).fit` of
 * `preprocess_gmm.py` (methods.md §7.5).
 *
 * [U] Initialisation without k-means: means at the data's quantiles (k + ½)/K (linear interpolation),
 * every variance the data variance / K, weights 1/K; then a fixed number of EM steps in log space.
 * As scikit-learn, each M-step adds 10·ε to the component mass and `regCovar` to each variance.
 * Components that start on the same quantile stay identical (a merged component: still a valid
 * density). Returns the mean log-likelihood of the final parameters too.
 */
export function fitGmm1d(
  data: ArrayLike<number>,
  options: GmmFitOptions = {},
): Gmm & { logLikelihood: number } {
  const K = options.components ?? 8, iterations = options.iterations ?? 100, reg = options.regCovar ?? 1e-6;
  const n = data.length;
  if (n === 0 || !Number.isInteger(K) || K < 1) throw new RangeError(`need data and K ≥ 1, got ${n}, ${K}`);
  const sorted = Float64Array.from(data).sort();
  const mean = sorted.reduce((a, x) => a + x, 0) / n;
  const variance = sorted.reduce((a, x) => a + (x - mean) ** 2, 0) / n;
  const means = Float64Array.from({ length: K }, (_, k) => quantile(sorted, (k + 0.5) / K));
  const variances = new Float64Array(K).fill(variance / K + reg);
  const weights = new Float64Array(K).fill(1 / K);
  const resp = new Float64Array(n * K);
  const terms = new Float64Array(K);
  const eStep = () => {
    let ll = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < K; k++) terms[k] = logNormal(data[i], weights[k], means[k], variances[k]);
      const { lse, probs } = softmax(terms);
      ll += lse;
      resp.set(probs, i * K);
    }
    return ll / n;
  };
  for (let t = 0; t < iterations; t++) {
    eStep();
    for (let k = 0; k < K; k++) {
      let nk = 10 * Number.EPSILON, s = 0;
      for (let i = 0; i < n; i++) {
        nk += resp[i * K + k];
        s += resp[i * K + k] * data[i];
      }
      const mu = s / nk;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += resp[i * K + k] * (data[i] - mu) ** 2;
      means[k] = mu;
      variances[k] = ss / nk + reg;
      weights[k] = nk / n;
    }
    const wsum = weights.reduce((a, w) => a + w, 0);
    for (let k = 0; k < K; k++) weights[k] /= wsum;
  }
  return { weights, means, variances, logLikelihood: eStep() };
}

function logNormal(x: number, w: number, mu: number, v: number): number {
  return Math.log(w) - 0.5 * Math.log(2 * Math.PI * v) - (x - mu) ** 2 / (2 * v);
}

// numpy's default (linear) quantile of sorted data.
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1), lo = Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

function softmax(x: Float64Array): { lse: number; probs: Float64Array } {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let s = 0;
  for (const v of x) s += Math.exp(v - max);
  const lse = max + Math.log(s);
  return { lse, probs: x.map((v) => Math.exp(v - lse)) };
}

function checkBatch(pred: ArrayLike<number>, target: ArrayLike<number>, sigma: number): number {
  if (pred.length !== target.length) {
    throw new RangeError(`${pred.length} predictions but ${target.length} targets`);
  }
  if (pred.length === 0) throw new RangeError("empty batch");
  if (!(sigma > 0) || !Number.isFinite(sigma)) {
    throw new RangeError(`sigma must be finite and > 0, got ${sigma}`);
  }
  return pred.length;
}

// L = c·sum/b with c = stopgrad(2σ²): c scales the gradients but is not differentiated; ∂v/∂σ = 2σ.
function finish(
  sum: number,
  gradPred: Float64Array,
  dv: number,
  b: number,
  sigma: number,
  c: number,
): NoiseLoss {
  for (let i = 0; i < b; i++) gradPred[i] *= c / b;
  const gradSigma = (c / b) * dv * 2 * sigma;
  return { loss: (c * sum) / b, gradPred, gradSigma, gradLogSigma: sigma * gradSigma };
}
