/**
 * Error and agreement metrics. Every function is linear in its input except the rank-based ones
 * (a sort), works in float64 and returns null, never NaN, where a metric is undefined.
 *
 * @module
 */

/** The geometric mean's epsilon: keeps an exact hit (|e| = 0) from sending the mean of logs to -Infinity. */
export const GM_EPSILON = 1e-10;

/** Error metrics of one region (or any subset). Null metrics mean the subset is empty. */
export interface ErrorMetrics {
  /** Number of samples. */
  n: number;
  /** Mean absolute error. */
  mae: number | null;
  /** Mean squared error. */
  mse: number | null;
  /** Geometric mean of |e|: exp(mean(ln(|e| + 1e-10))). */
  gm: number | null;
}

/** MAE, MSE and GM of a list of absolute errors. */
export function errorMetrics(absErrors: ArrayLike<number>): ErrorMetrics {
  const n = absErrors.length;
  if (n === 0) return { n: 0, mae: null, mse: null, gm: null };
  let sumAbs = 0, sumSq = 0, sumLog = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(absErrors[i]);
    sumAbs += e;
    sumSq += e * e;
    sumLog += Math.log(e + GM_EPSILON);
  }
  return { n, mae: sumAbs / n, mse: sumSq / n, gm: Math.exp(sumLog / n) };
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

function isConstant(x: ArrayLike<number>): boolean {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return false;
  return true;
}

/** Population moments (1/n) of two equal-length vectors: means, variances and covariance. */
export function moments(x: ArrayLike<number>, y: ArrayLike<number>): {
  meanX: number;
  meanY: number;
  varX: number;
  varY: number;
  cov: number;
} {
  if (x.length !== y.length) throw new RangeError(`length mismatch: ${x.length} vs ${y.length}`);
  const n = x.length;
  // The mean of n copies of v can round to a neighbour of v; a constant vector must still have variance 0.
  const meanX = isConstant(x) ? x[0] : mean(x), meanY = isConstant(y) ? y[0] : mean(y);
  // Two-pass: subtracting the means first avoids the cancellation of sum(x^2) - n*mean^2.
  let varX = 0, varY = 0, cov = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - meanX, dy = y[i] - meanY;
    varX += dx * dx;
    varY += dy * dy;
    cov += dx * dy;
  }
  return { meanX, meanY, varX: varX / n, varY: varY / n, cov: cov / n };
}

/** Pearson correlation; null for fewer than two samples or a constant vector. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  if (x.length < 2) return null;
  const m = moments(x, y);
  if (m.varX === 0 || m.varY === 0) return null;
  return clampUnit(m.cov / Math.sqrt(m.varX * m.varY));
}

/**
 * Lin's concordance correlation coefficient with population (1/n) moments, in the covariance form
 * 2·cov / (varX + varY + (meanX − meanY)²), so a constant prediction gives 0 rather than NaN.
 * Null for an empty input or when both vectors are the same constant (0/0).
 */
export function ccc(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  if (x.length === 0) return null;
  const m = moments(x, y);
  const d = m.meanX - m.meanY;
  const denom = m.varX + m.varY + d * d;
  if (denom === 0) return null;
  return clampUnit((2 * m.cov) / denom);
}

/** Ranks from 1 to n, ties sharing the average of the ranks they span. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && values[order[j]] === values[order[i]]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

/** Spearman's rank correlation (Pearson on average ranks); null where Pearson is. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  if (x.length !== y.length) throw new RangeError(`length mismatch: ${x.length} vs ${y.length}`);
  if (x.length < 2) return null;
  return pearson(averageRanks(x), averageRanks(y));
}

// Rounding can push a correlation a few ulps past ±1.
function clampUnit(v: number): number {
  return Math.max(-1, Math.min(1, v));
}
