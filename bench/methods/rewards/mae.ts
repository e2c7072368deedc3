/**
 * The point-wise `mae` reward: 1 − |q − y| / (max − min), in [0, 1] for answers in the label range.
 *
 * [U: methods.md does not define it.] Dividing by the range's width makes it unit-free and of the same
 * order as the format term and CCC; keeping it non-negative lets DISCO multiply it by bin weights as its
 * code multiplies a 0/1 correctness reward (§4.1). An additive constant changes no advantage.
 * Invalid outputs take their sample's anchor (§8.3, via `resolvePredictions`); the missing format term
 * is their penalty.
 *
 * @module
 */

import { resolvePredictions, type Reward, type RewardBatch, type RewardContext } from "./reward.ts";

/** The `mae` reward of a prediction `q` of label `y`, on the range [min, max]. */
export function maeReward(q: number, y: number, labelRange: readonly [number, number]): number {
  return 1 - Math.abs(q - y) / (labelRange[1] - labelRange[0]);
}

/** The `mae` reward of every generation, B×K. */
export function maeRewards(batch: RewardBatch, ctx: RewardContext): number[][] {
  const { values } = resolvePredictions(batch, ctx);
  return values.map((row, i) => row.map((q) => maeReward(q, batch.labels[i], ctx.labelRange)));
}

/** Registry entry of the point-wise MAE reward. */
export const mae: Reward = {
  id: "mae",
  description: "point-wise: 1 − |q − y| / (max − min)",
  scaleRewards: "group",
  compute: maeRewards,
};
