/**
 * The `ranking` reward of VisualQuality-R1 (methods.md §5.2): for generation q_{i,k} and every other
 * sample z, Thurstone Case V gives the probability that sample i outranks z,
 * p = Φ((q_{i,k} − μ_z) / sqrt(v_i + v_z + 1e-6)), and the fidelity
 * F = sqrt(p·g + 1e-6) + sqrt((1 − p)(1 − g) + 1e-6) scores it against the true order g ∈ {1, 0, 0.5};
 * the reward is the mean F over the other samples. μ and v are the group mean and unbiased variance of
 * the K predictions.
 *
 * Choices [U]:
 * - invalid outputs take their sample's anchor (methods.md §8.3, as every reward here), not
 *   VisualQuality-R1's uniform random draw (§5.1), so the reward is deterministic; the substituted values
 *   count in μ and v, as VisualQuality-R1's random ones do;
 * - anchorless samples are no comparison partner (as in `ccc`); with no partner the reward is 0;
 * - K = 1 gives v = 0 (the unbiased variance is undefined);
 * - VisualQuality-R1's own format reward (1 for a full `<think>…<answer>` match) is replaced by the common
 *   0.5 format term (`totalRewards`).
 *
 * @module
 */

import { resolvePredictions, type Reward, type RewardBatch, type RewardContext } from "./reward.ts";

/**
 * The standard normal CDF Φ(x) = erfc(−x/√2) / 2, to about 1e-15: Φ(0) is exactly 0.5, so an exact tie
 * between a prediction and the other sample's mean gives p = 0.5.
 */
export function normalCdf(x: number): number {
  const z = -x / Math.SQRT2;
  const c = erfcNonNegative(Math.abs(z));
  return (z >= 0 ? c : 2 - c) / 2;
}

// erfc(a) for a ≥ 0. Below 3, 1 − erf(a) from the all-positive series
// erf(a) = 2/√π · e^(−a²) · Σ 2ⁿ a^(2n+1) / (1·3·…·(2n+1)), which has no cancellation; from 3 on, the
// continued fraction erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …)))), evaluated backwards.
function erfcNonNegative(a: number): number {
  if (!Number.isFinite(a)) return 0;
  if (a < 3) {
    let term = a, sum = a;
    for (let n = 1; term > 1e-17 * sum; n++) {
      term *= (2 * a * a) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
  }
  let f = a;
  for (let k = 80; k >= 1; k--) f = a + k / 2 / f;
  return Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
}

/** Thurstone Case V: the probability that a prediction `q` of sample i outranks sample z. */
export function thurstoneProbability(q: number, meanZ: number, varI: number, varZ: number): number {
  return normalCdf((q - meanZ) / Math.sqrt(varI + varZ + 1e-6));
}

/**
 * The fidelity of probability `p` to the true order `g` (1: i above z, 0: below, 0.5: tied).
 *
 * @example
 * ```ts
 * fidelity(thurstoneProbability(3, 2.5, 0.2, 0.3), 1); // ≈ 0.87292 (methods.md §5.4)
 * ```
 */
export function fidelity(p: number, g: number): number {
  return Math.sqrt(p * g + 1e-6) + Math.sqrt((1 - p) * (1 - g) + 1e-6);
}

/** The `ranking` reward of every generation, B×K. */
export function rankingRewards(batch: RewardBatch, ctx: RewardContext): number[][] {
  const { values, anchors } = resolvePredictions(batch, ctx);
  const k = values[0].length;
  const means = values.map((row) => row.reduce((s, v) => s + v, 0) / k);
  const vars = values.map((row, i) =>
    k < 2 ? 0 : row.reduce((s, v) => s + (v - means[i]) * (v - means[i]), 0) / (k - 1)
  );
  const y = batch.labels;
  return values.map((row, i) =>
    row.map((q) => {
      let sum = 0, n = 0;
      for (let z = 0; z < values.length; z++) {
        if (z === i || anchors[z] === null) continue;
        const g = y[i] > y[z] ? 1 : y[i] < y[z] ? 0 : 0.5;
        sum += fidelity(thurstoneProbability(q, means[z], vars[i], vars[z]), g);
        n++;
      }
      return n > 0 ? sum / n : 0;
    })
  );
}

/** Registry entry of VisualQuality-R1's Thurstone fidelity ranking reward. */
export const ranking: Reward = {
  id: "ranking",
  description: "VisualQuality-R1: mean Thurstone fidelity of q_k(x_i) against the other samples' order",
  scaleRewards: "group",
  compute: rankingRewards,
};
