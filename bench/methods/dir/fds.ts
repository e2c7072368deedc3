/**
 * FDS, feature distribution smoothing (Yang et al., ICML 2021; methods.md §7.2): per-bucket running
 * mean/variance of the penultimate features, smoothed over neighbouring label buckets, and an affine
 * recalibration `z' = z·scale + shift` of training features towards the smoothed statistics. Follows
 * `agedb-dir/fds.py` and `calibrate_mean_var` of YyzHarry/imbalanced-regression.
 *
 * The epoch protocol is the repository's. At the end of training epoch e ≥ `startUpdate`, `train.py`
 * recomputes the whole training set's features and calls, in this order,
 * `startEpoch(e)` (`update_last_epoch_stats`: freezes and smooths the running stats, but only when
 * e = this.epoch + 1) and `updateFromEpoch(features, labels, e)` (`update_running_stats`). Training
 * epoch e + 1 then calibrates with statistics frozen through epoch e − 1: the repository's one-epoch
 * lag. Calling `startEpoch(e + 1)` at the start of epoch e + 1 instead (after `updateFromEpoch(…, e)`)
 * uses the freshest statistics; either order passes the same guard.
 *
 * Choices [U]:
 * - Buckets are `clamp(floor(y) − bucketStart, 0, bucketNum − bucketStart − 1)` for every label, as
 *   methods.md §7.2 states. The repository pools labels below `bucketStart` (above `bucketNum − 1`) only
 *   when a label equal to the edge is present, and groups by exact label value, so both agree on
 *   integer labels whenever the edges occur.
 * - float64 throughout (the repository keeps float32 buffers and kernel).
 *
 * @module
 */

import { binOf, type BinSpec } from "./bins.ts";
import { type KernelSpec, kernelWindow, RECOMMENDED_KERNEL } from "./lds.ts";

/** Options of {@linkcode FdsState.create}; all but `dims`, `bucketNum`, `bucketStart` have the repo's defaults. */
export interface FdsOptions {
  /** Feature dimension D. */
  readonly dims: number;
  /** One past the last integer label bucket (repo default 100). */
  readonly bucketNum: number;
  /** First integer label bucket (AgeDB 3, IMDB-WIKI 0). */
  readonly bucketStart: number;
  /** Smoothing kernel, normalised to sum 1; gaussian ks 5 σ 2 by default (README). */
  readonly kernel?: KernelSpec;
  /** EMA momentum m (0.9); `null` uses the cumulative average `1 − n/tracked`, as the repo allows. */
  readonly momentum?: number | null;
  /** First epoch whose features update the statistics (0); its update uses m = 0. */
  readonly startUpdate?: number;
  /** First epoch whose features are calibrated (1). */
  readonly startSmooth?: number;
}

/** The serialised state: plain numbers, which JSON round-trips exactly. */
export interface FdsJson {
  readonly options: Required<FdsOptions>;
  readonly epoch: number;
  readonly runningMean: number[];
  readonly runningVar: number[];
  readonly meanLastEpoch: number[];
  readonly varLastEpoch: number[];
  readonly smoothedMean: number[];
  readonly smoothedVar: number[];
  readonly tracked: number[];
}

/** Calibrated features and the affine that produced them, all B×D row-major. */
export interface FdsCalibration {
  /** z' = z·scale + shift. */
  readonly z: Float64Array;
  /** ∂z'/∂z, elementwise. */
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

/** Running, frozen and smoothed per-bucket feature statistics (methods.md §7.2). */
export class FdsState {
  /** The options, defaults filled in. */
  readonly options: Required<FdsOptions>;
  /** The sum-normalised smoothing kernel. */
  readonly kernel: Float64Array;
  /** The repo's `epoch` buffer: the last epoch whose statistics were frozen (starts at `startUpdate`). */
  epoch: number;
  // Per-bucket × D, row-major. Means start at 0 and variances at 1, as the repository's buffers.
  private runningMean: Float64Array;
  private runningVar: Float64Array;
  private meanLastEpoch: Float64Array;
  private varLastEpoch: Float64Array;
  private smoothedMean: Float64Array;
  private smoothedVar: Float64Array;
  private tracked: Float64Array;

  private constructor(options: Required<FdsOptions>) {
    this.options = options;
    const { dims, bucketNum, bucketStart, kernel } = options;
    const buckets = bucketNum - bucketStart;
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be ≥ 1, got ${dims}`);
    if (!Number.isInteger(bucketNum) || !Number.isInteger(bucketStart) || buckets < 1) {
      throw new RangeError(`need integers bucketNum > bucketStart, got ${bucketNum}, ${bucketStart}`);
    }
    this.kernel = kernelWindow(kernel, "sum");
    // torch's reflect padding needs the pad to be shorter than the input.
    if ((kernel.ks - 1) / 2 >= buckets) {
      throw new RangeError(`${buckets} buckets are too few for ks ${kernel.ks}`);
    }
    this.epoch = options.startUpdate;
    const n = buckets * dims;
    this.runningMean = new Float64Array(n);
    this.runningVar = new Float64Array(n).fill(1);
    this.meanLastEpoch = new Float64Array(n);
    this.varLastEpoch = new Float64Array(n).fill(1);
    this.smoothedMean = new Float64Array(n);
    this.smoothedVar = new Float64Array(n).fill(1);
    this.tracked = new Float64Array(buckets);
  }

  /** A fresh state with the repository's defaults (momentum 0.9, startUpdate 0, startSmooth 1, gaussian 5/2). */
  static create(options: FdsOptions): FdsState {
    // Explicit `??` rather than a spread, so an option passed as undefined still takes its default.
    return new FdsState({
      ...options,
      kernel: options.kernel ?? RECOMMENDED_KERNEL,
      momentum: options.momentum === undefined ? 0.9 : options.momentum,
      startUpdate: options.startUpdate ?? 0,
      startSmooth: options.startSmooth ?? 1,
    });
  }

  /** Restores a state saved by {@linkcode FdsState.toJSON}, bit for bit. */
  static fromJSON(json: FdsJson): FdsState {
    const s = new FdsState(json.options);
    s.epoch = json.epoch;
    const fill = (dst: Float64Array, src: number[], name: string) => {
      if (src.length !== dst.length) {
        throw new RangeError(`${name}: ${src.length} values, expected ${dst.length}`);
      }
      dst.set(src);
    };
    fill(s.runningMean, json.runningMean, "runningMean");
    fill(s.runningVar, json.runningVar, "runningVar");
    fill(s.meanLastEpoch, json.meanLastEpoch, "meanLastEpoch");
    fill(s.varLastEpoch, json.varLastEpoch, "varLastEpoch");
    fill(s.smoothedMean, json.smoothedMean, "smoothedMean");
    fill(s.smoothedVar, json.smoothedVar, "smoothedVar");
    fill(s.tracked, json.tracked, "tracked");
    return s;
  }

  /** The state as plain JSON-safe data (JSON keeps every float64 exactly). */
  toJSON(): FdsJson {
    return {
      options: this.options,
      epoch: this.epoch,
      runningMean: Array.from(this.runningMean),
      runningVar: Array.from(this.runningVar),
      meanLastEpoch: Array.from(this.meanLastEpoch),
      varLastEpoch: Array.from(this.varLastEpoch),
      smoothedMean: Array.from(this.smoothedMean),
      smoothedVar: Array.from(this.smoothedVar),
      tracked: Array.from(this.tracked),
    };
  }

  /** The bucket spec: integer buckets from `bucketStart`, clamped at both ends. */
  get buckets(): BinSpec {
    return {
      min: this.options.bucketStart,
      binWidth: 1,
      bins: this.options.bucketNum - this.options.bucketStart,
    };
  }

  /** The bucket of label `y`. */
  bucketOf(y: number): number {
    return binOf(y, this.buckets);
  }

  /** A copy of the statistics, bucket-major (buckets × D), for inspection and tests. */
  stats(): Record<
    "runningMean" | "runningVar" | "meanLastEpoch" | "varLastEpoch" | "smoothedMean" | "smoothedVar",
    Float64Array
  > {
    return {
      runningMean: this.runningMean.slice(),
      runningVar: this.runningVar.slice(),
      meanLastEpoch: this.meanLastEpoch.slice(),
      varLastEpoch: this.varLastEpoch.slice(),
      smoothedMean: this.smoothedMean.slice(),
      smoothedVar: this.smoothedVar.slice(),
    };
  }

  /**
   * `update_running_stats` (methods.md §7.2): per bucket present in `labels`, the mean and variance of
   * its features (unbiased; biased, i.e. 0, when it holds one sample) enter the EMA
   * `stat ← (1 − m)·batch + m·stat`, with m = 0 at `startUpdate`. Buckets absent keep their stats.
   * Ignored when `epoch` < this.epoch.
   *
   * @param features N×D row-major, the whole training set's features (no gradient).
   */
  updateFromEpoch(features: ArrayLike<number>, labels: ArrayLike<number>, epoch: number): void {
    if (epoch < this.epoch) return;
    const D = this.options.dims, N = labels.length;
    if (features.length !== N * D) {
      throw new RangeError(`features hold ${features.length} values, expected ${N}×${D}`);
    }
    const members = this.groupByBucket(labels);
    for (const [b, rows] of members) {
      const n = rows.length;
      this.tracked[b] += n;
      const m = this.options.momentum;
      let factor = m ?? 1 - n / this.tracked[b];
      if (epoch === this.options.startUpdate) factor = 0;
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (const i of rows) s += features[i * D + d];
        const mean = s / n;
        let ss = 0;
        for (const i of rows) ss += (features[i * D + d] - mean) ** 2;
        const v = ss / (n > 1 ? n - 1 : n);
        const k = b * D + d;
        this.runningMean[k] = (1 - factor) * mean + factor * this.runningMean[k];
        this.runningVar[k] = (1 - factor) * v + factor * this.runningVar[k];
      }
    }
  }

  /**
   * `update_last_epoch_stats` (methods.md §7.2): when `epoch` = this.epoch + 1, advances this.epoch,
   * freezes the running stats and smooths them over buckets with the sum-1 kernel and reflect padding
   * (torch's `reflect`, the edge bucket not repeated). Otherwise does nothing.
   *
   * @returns Whether the statistics were frozen.
   */
  startEpoch(epoch: number): boolean {
    if (epoch !== this.epoch + 1) return false;
    this.epoch++;
    this.meanLastEpoch = this.runningMean.slice();
    this.varLastEpoch = this.runningVar.slice();
    this.smoothedMean = this.smoothBuckets(this.meanLastEpoch);
    this.smoothedVar = this.smoothBuckets(this.varLastEpoch);
    return true;
  }

  /**
   * `smooth` / `calibrate_mean_var` (methods.md §7.2): for each sample in bucket b,
   * `scale = sqrt(clip(ṽ_b/v_b, 0.1, 10))`, `shift = μ̃_b − μ_b·scale`, `z' = z·scale + shift`, from the
   * frozen stats. Identity (scale 1, shift 0) before `startSmooth`, in dimensions with v_b = 0, and for
   * buckets whose variances sum to < 1e-10. The gradient of z' with respect to z is `scale`. z' is
   * computed from the returned affine, so it can differ from the repository's (z − μ)·s + μ̃ by rounding.
   *
   * @param z B×D row-major training features of one batch.
   */
  calibrate(z: ArrayLike<number>, labels: ArrayLike<number>, epoch: number): FdsCalibration {
    const D = this.options.dims, B = labels.length;
    if (z.length !== B * D) throw new RangeError(`z holds ${z.length} values, expected ${B}×${D}`);
    const scale = new Float64Array(B * D).fill(1);
    const shift = new Float64Array(B * D);
    if (epoch >= this.options.startSmooth) {
      for (let i = 0; i < B; i++) {
        const b = this.bucketOf(labels[i]);
        let sum = 0;
        for (let d = 0; d < D; d++) sum += this.varLastEpoch[b * D + d];
        if (sum < 1e-10) continue;
        for (let d = 0; d < D; d++) {
          const k = b * D + d, v = this.varLastEpoch[k];
          if (v === 0) continue;
          const s = Math.sqrt(Math.min(10, Math.max(0.1, this.smoothedVar[k] / v)));
          scale[i * D + d] = s;
          shift[i * D + d] = this.smoothedMean[k] - this.meanLastEpoch[k] * s;
        }
      }
    }
    const out = new Float64Array(B * D);
    for (let k = 0; k < B * D; k++) out[k] = z[k] * scale[k] + shift[k];
    return { z: out, scale, shift };
  }

  private groupByBucket(labels: ArrayLike<number>): Map<number, number[]> {
    const members = new Map<number, number[]>();
    for (let i = 0; i < labels.length; i++) {
      const b = this.bucketOf(labels[i]);
      const rows = members.get(b);
      if (rows) rows.push(i);
      else members.set(b, [i]);
    }
    return members;
  }

  // out_b = Σ_t k_t · x_{reflect(b + t − h)}, per dimension (F.conv1d is a correlation).
  private smoothBuckets(x: Float64Array): Float64Array {
    const D = this.options.dims, nb = x.length / D, h = (this.kernel.length - 1) / 2;
    const out = new Float64Array(x.length);
    for (let b = 0; b < nb; b++) {
      for (let t = 0; t < this.kernel.length; t++) {
        const src = torchReflect(b + t - h, nb);
        for (let d = 0; d < D; d++) out[b * D + d] += this.kernel[t] * x[src * D + d];
      }
    }
    return out;
  }
}

// torch/numpy 'reflect' for a pad shorter than n: −1 → 1, n → n − 2.
function torchReflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}
