/**
 * Label bins shared by the deep-imbalanced-regression baselines (methods.md §4.2, §7.1): equal-width
 * bins on the label axis, the first and last absorbing everything below and above them.
 *
 * The DIR repositories use integer-label bins, `b = min(int(y), max_target − 1)` (AgeDB and IMDB-WIKI:
 * `max_target = 121`), which is `{ min: 0, binWidth: 1, bins: 121 }` here.
 *
 * @module
 */

/** Equal-width bins `[min + b·binWidth, min + (b+1)·binWidth)`, b = 0..bins−1. */
export interface BinSpec {
  /** Left edge of bin 0. */
  readonly min: number;
  /** Width of every bin, > 0. */
  readonly binWidth: number;
  /** Number of bins, a positive integer. */
  readonly bins: number;
}

/** Integer-label bins 0..maxTarget−1, as the DIR repositories' `_prepare_weights` (methods.md §7.1). */
export function integerBins(maxTarget: number, min = 0): BinSpec {
  return { min, binWidth: 1, bins: maxTarget };
}

/**
 * The bin of label `y`: `floor((y − min)/binWidth)`, clamped to [0, bins − 1] (methods.md §7.1).
 *
 * [U] The repositories truncate (`int(y)`) and clamp only the top; for labels ≥ `min` floor and
 * truncation agree, and clamping the bottom too keeps out-of-range labels in the first bin instead of
 * Python's negative-index wrap. The division is exact for integer labels and width 1; for fractional
 * widths, a label on an edge may fall one bin low through rounding (e.g. 0.3/0.1 < 3).
 *
 * @throws {RangeError} On a non-finite label or an invalid spec.
 */
export function binOf(y: number, spec: BinSpec): number {
  if (!Number.isFinite(y)) throw new RangeError(`label ${y} is not finite`);
  checkSpec(spec);
  const b = Math.floor((y - spec.min) / spec.binWidth);
  return Math.min(spec.bins - 1, Math.max(0, b));
}

/** Training samples per bin, n_b (methods.md §7.1): a `bins`-long array of counts. */
export function binCounts(labels: ArrayLike<number>, spec: BinSpec): Float64Array {
  const counts = new Float64Array(spec.bins);
  for (let i = 0; i < labels.length; i++) counts[binOf(labels[i], spec)]++;
  return counts;
}

/** The centre of bin `b`, `min + (b + ½)·binWidth`. */
export function binCenter(b: number, spec: BinSpec): number {
  return spec.min + (b + 0.5) * spec.binWidth;
}

function checkSpec(spec: BinSpec): void {
  if (!Number.isInteger(spec.bins) || spec.bins < 1) {
    throw new RangeError(`bins must be ≥ 1, got ${spec.bins}`);
  }
  if (!(spec.binWidth > 0) || !Number.isFinite(spec.binWidth)) {
    throw new RangeError(`binWidth must be finite and > 0, got ${spec.binWidth}`);
  }
  if (!Number.isFinite(spec.min)) throw new RangeError(`min must be finite, got ${spec.min}`);
}
