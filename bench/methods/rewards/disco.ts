/**
 * `disco-mae`: the `mae` reward scaled by the prevalence weight of the label's bin, DISCO's domain weight
 * carried over to label-frequency bins (methods.md §4.2), trained without std normalisation (else the
 * weight, constant within a group, cancels; §9.3).
 *
 * Choices [U], each the default methods.md documents:
 * - bins: the dataset's label bins (width `binWidth`, default 1: integer labels as in the DIR benchmarks);
 * - weight: w_b = ln(1 + 1/p_b), p_b = n_b / N_train (DISCO's code), not normalised, not capped, counts
 *   not LDS-smoothed;
 * - no difficulty weight (defined for binary rewards only);
 * - the format term is added unweighted (`totalRewards`); only the MAE part is scaled.
 *
 * @module
 */

import { binCount, binIndex } from "../../score/shots.ts";
import { maeRewards } from "./mae.ts";
import type { Reward, RewardBatch, RewardContext } from "./reward.ts";

/**
 * DISCO's weight of a bin holding `count` of `total` training samples: ln(1 + total / count).
 *
 * @example
 * ```ts
 * binWeight(3, 4);   // ln(1 + 4/3) ≈ 0.847, DISCO's head-domain weight (p = 0.75)
 * binWeight(1, 12);  // ln(13) ≈ 2.565, its tail-domain weight (p = 1/12)
 * ```
 */
export function binWeight(count: number, total: number): number {
  return Math.log(1 + total / count);
}

/**
 * Training samples per bin of `labels` on [min, max] with bins of `binWidth`, for `RewardContext`'s
 * `trainCounts`. Labels outside the range are not counted.
 */
export function trainCountsOf(
  labels: Iterable<number>,
  labelRange: readonly [number, number],
  binWidth = 1,
): number[] {
  const spec = { min: labelRange[0], max: labelRange[1], binWidth };
  const counts = new Array<number>(binCount(spec)).fill(0);
  for (const y of labels) {
    const b = binIndex(y, spec);
    if (b >= 0 && b < counts.length) counts[b]++;
  }
  return counts;
}

/**
 * The `disco-mae` reward of every generation, B×K: w_{b(y_i)} · mae.
 *
 * @throws {RangeError} Without `ctx.trainCounts`, or when a label's bin has no training sample (its
 *   weight would be infinite; a training label always has one).
 */
export function discoMaeRewards(batch: RewardBatch, ctx: RewardContext): number[][] {
  const base = maeRewards(batch, ctx);
  const counts = ctx.trainCounts;
  if (!counts) throw new RangeError("disco-mae needs the training label counts (trainCounts / trainLabels)");
  const total = counts.reduce((s, c) => s + c, 0);
  const spec = { min: ctx.labelRange[0], binWidth: ctx.binWidth ?? 1 };
  return base.map((row, i) => {
    const y = batch.labels[i];
    const count = counts[binIndex(y, spec)] ?? 0;
    if (!(count > 0)) throw new RangeError(`label ${i} (${y}) falls in a bin with no training sample`);
    const w = binWeight(count, total);
    return row.map((r) => w * r);
  });
}

/** Registry entry of DISCO with bin-prevalence weights on the MAE reward. */
export const discoMae: Reward = {
  id: "disco-mae",
  description: "mae × ln(1 + 1/p_bin), bin prevalence from the training labels; advantages without std",
  scaleRewards: "none",
  compute: discoMaeRewards,
};
