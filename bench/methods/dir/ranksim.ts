/**
 * RankSim (Gong et al., ICML 2022; methods.md §7.3): a regulariser that makes the ranking of a sample's
 * feature similarities to the batch agree with the ranking of its label distances. Follows
 * `agedb-dir/ranksim.py` and `ranking.py` of BorealisAI/ranksim-imbalanced-regression, with the
 * ranker differentiated by blackbox interpolation (Vlastelica et al.).
 *
 * Choices [U]:
 * - Ties in {@linkcode rankNormalised} go to the later index first: exactly what the repository's
 *   `argsort(argsort(s).flip())` gives with a stable ascending argsort (torch does not promise
 *   stability; label distances tie often, e.g. y − d and y + d).
 * - Deduplication draws one row per unique label, labels in ascending order (`torch.unique`), rows
 *   of a label in index order, one `randomInt(rng, count)` each; no draw when all labels are distinct
 *   (the repository then keeps the batch order). Labels are compared exactly, as `torch.unique`.
 * - Rows are normalised as `F.normalize`: z/max(‖z‖, 1e-12).
 *
 * @module
 */

import { randomInt, type Rng } from "../../core/rng.ts";

/** `F.normalize`'s floor on the row norm. */
export const NORMALIZE_EPS = 1e-12;

/** A ranking map and its backward pass; the true ranker is {@linkcode TRUE_RANKER}. */
export interface Ranker {
  /** Ranks of one row of similarities. */
  forward(s: Float64Array): Float64Array;
  /** ∂L/∂s from the upstream gradient `g` = ∂L/∂ranks. */
  backward(s: Float64Array, ranks: Float64Array, g: Float64Array, lambda: number): Float64Array;
}

/**
 * `rank_normalised` (methods.md §7.3): `(rank + 1)/n`, rank = 0-based position in descending order;
 * ties: the later index ranks first (see the module's [U]).
 *
 * @example
 * ```ts
 * rankNormalised([0.3, 0.9, 0.1]); // [2/3, 1/3, 1]
 * rankNormalised([1, 1, 0]); // [2/3, 1/3, 1]
 * ```
 */
export function rankNormalised(s: ArrayLike<number>): Float64Array {
  const n = s.length;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let rank = 0;
    for (let k = 0; k < n; k++) if (s[k] > s[j] || (s[k] === s[j] && k > j)) rank++;
    out[j] = (rank + 1) / n;
  }
  return out;
}

/**
 * The blackbox backward of `TrueRanker` (methods.md §7.3 step 4):
 * `∂ = −(rank_norm(s) − rank_norm(s + λ·g)) / (λ + 1e-8)`.
 */
export function blackboxRankGrad(s: ArrayLike<number>, g: ArrayLike<number>, lambda: number): Float64Array {
  const ranks = rankNormalised(s);
  const shifted = rankNormalised(Float64Array.from({ length: s.length }, (_, j) => s[j] + lambda * g[j]));
  return ranks.map((r, j) => -(r - shifted[j]) / (lambda + 1e-8));
}

/** The repository's ranker: {@linkcode rankNormalised} forward, {@linkcode blackboxRankGrad} backward. */
export const TRUE_RANKER: Ranker = {
  forward: rankNormalised,
  backward: (s, _ranks, g, lambda) => blackboxRankGrad(s, g, lambda),
};

/** Options of {@linkcode ranksimLoss}. */
export interface RanksimOptions {
  /** Regularisation weight γ (`--regularization_weight`), README 100. */
  readonly gamma?: number;
  /** Interpolation strength λ (`--interpolation_lambda`), README 2. */
  readonly lambda?: number;
  /** Draws the row kept per repeated label. */
  readonly rng: Rng;
  /** The ranker; {@linkcode TRUE_RANKER} unless a test swaps in a smooth one. */
  readonly ranker?: Ranker;
}

/** γ·L_RankSim, its gradient with respect to z (b×D), and the rows it used. */
export interface RanksimResult {
  readonly loss: number;
  /** b×D row-major; zero on rows the deduplication dropped. */
  readonly gradZ: Float64Array;
  /** The batch rows used, in the order they were ranked. */
  readonly selected: number[];
}

/**
 * γ·Σ_i mean_j (R^z_ij − R^y_ij)² and its gradient (methods.md §7.3). R^z_i = rank_norm of the cosine
 * similarities of row i to every kept row (self included), R^y_i = rank_norm(−|y_i − y|). The upstream
 * gradient into the ranker is ∂(γ·L)/∂R^z = γ·2(R^z − R^y)/b', γ included, as autograd passes it to
 * `TrueRanker.backward`, so γ and λ interact exactly as in the repository.
 *
 * @param z b×D row-major features (the penultimate layer).
 * @param labels b labels.
 */
export function ranksimLoss(
  z: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: RanksimOptions,
): RanksimResult {
  const b = labels.length;
  if (b === 0 || z.length % b !== 0) throw new RangeError(`z holds ${z.length} values for ${b} labels`);
  const D = z.length / b;
  const gamma = options.gamma ?? 100, lambda = options.lambda ?? 2;
  const ranker = options.ranker ?? TRUE_RANKER;
  const selected = dedupRows(labels, options.rng);
  const n = selected.length;
  const x = new Float64Array(n * D);
  selected.forEach((r, i) => {
    for (let d = 0; d < D; d++) x[i * D + d] = z[r * D + d];
  });
  const y = selected.map((r) => labels[r]);
  const S = cosineSimilarity(x, n, D);
  const G = new Float64Array(n * n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = S.subarray(i * n, (i + 1) * n);
    const ry = rankNormalised(y.map((yj) => -Math.abs(y[i] - yj)));
    const rz = ranker.forward(row);
    const g = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const d = rz[j] - ry[j];
      loss += (gamma * d * d) / n;
      g[j] = (gamma * 2 * d) / n;
    }
    G.set(ranker.backward(row, rz, g, lambda), i * n);
  }
  const gx = cosineSimilarityBackward(x, n, D, G);
  const gradZ = new Float64Array(b * D);
  selected.forEach((r, i) => gradZ.set(gx.subarray(i * D, (i + 1) * D), r * D));
  return { loss, gradZ, selected };
}

/**
 * The rows RankSim keeps (methods.md §7.3 step 1): all rows in batch order when labels are distinct,
 * else one random row per unique label, labels ascending.
 */
export function dedupRows(labels: ArrayLike<number>, rng: Rng): number[] {
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const rows = byLabel.get(labels[i]);
    if (rows) rows.push(i);
    else byLabel.set(labels[i], [i]);
  }
  if (byLabel.size === labels.length) return Array.from({ length: labels.length }, (_, i) => i);
  return [...byLabel.keys()].sort((a, c) => a - c).map((y) => {
    const rows = byLabel.get(y)!;
    return rows[randomInt(rng, rows.length)];
  });
}

/** S = ẑẑᵀ (n×n), ẑ the rows of x (n×D) divided by max(‖row‖, 1e-12), as `F.normalize`. */
export function cosineSimilarity(x: ArrayLike<number>, n: number, D: number): Float64Array {
  const u = normalizeRows(x, n, D).unit;
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += u[i * D + d] * u[j * D + d];
      S[i * n + j] = s;
    }
  }
  return S;
}

/**
 * ∂L/∂x from ∂L/∂S for {@linkcode cosineSimilarity}: ∂L/∂ẑ = (G + Gᵀ)ẑ, then through the normalisation
 * ∂L/∂x_r = (∂ẑ_r − ẑ_r(ẑ_r·∂ẑ_r))/‖x_r‖ (or ∂ẑ_r/1e-12 below the floor, where ẑ = x/1e-12 is linear).
 */
export function cosineSimilarityBackward(
  x: ArrayLike<number>,
  n: number,
  D: number,
  G: ArrayLike<number>,
): Float64Array {
  const { unit, norms } = normalizeRows(x, n, D);
  const gx = new Float64Array(n * D);
  const gu = new Float64Array(D);
  for (let r = 0; r < n; r++) {
    gu.fill(0);
    for (let j = 0; j < n; j++) {
      const w = G[r * n + j] + G[j * n + r];
      for (let d = 0; d < D; d++) gu[d] += w * unit[j * D + d];
    }
    const norm = norms[r];
    if (norm > NORMALIZE_EPS) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += unit[r * D + d] * gu[d];
      for (let d = 0; d < D; d++) gx[r * D + d] = (gu[d] - unit[r * D + d] * dot) / norm;
    } else {
      for (let d = 0; d < D; d++) gx[r * D + d] = gu[d] / NORMALIZE_EPS;
    }
  }
  return gx;
}

function normalizeRows(
  x: ArrayLike<number>,
  n: number,
  D: number,
): { unit: Float64Array; norms: Float64Array } {
  const unit = new Float64Array(n * D);
  const norms = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[r * D + d] ** 2;
    norms[r] = Math.sqrt(ss);
    const div = Math.max(norms[r], NORMALIZE_EPS);
    for (let d = 0; d < D; d++) unit[r * D + d] = x[r * D + d] / div;
  }
  return { unit, norms };
}
