/**
 * The format reward: 0.5 for an output that is well-formed, parseable and in range, else 0 (the seed
 * paper's weight, methods.md §8.3). "Well-formed and parseable" means the strict parser finds a number in
 * the first `<answer>…</answer>` block; text around the block is allowed. [U: the seed paper's exact
 * format check is unverified; VisualQuality-R1's full `<think>…</think><answer>…</answer>` match is not
 * used, since the unified prompt asks for no `<think>` block.]
 *
 * @module
 */

import { checkBatch, type Reward, type RewardBatch, type RewardContext, validPrediction } from "./reward.ts";

/** The format term's value for a valid output. */
export const FORMAT_REWARD = 0.5;

/**
 * The format reward of one output.
 *
 * @example
 * ```ts
 * formatReward("<answer>37</answer>", [0, 100]);  // 0.5
 * formatReward("37", [0, 100]);                   // 0 (no answer block)
 * formatReward("<answer>137</answer>", [0, 100]); // 0 (out of range)
 * ```
 *
 * @param text One generation.
 * @param labelRange The label range [min, max], inclusive.
 */
export function formatReward(text: string, labelRange: readonly [number, number]): number {
  return validPrediction(text, labelRange) === null ? 0 : FORMAT_REWARD;
}

/**
 * The format reward of every generation, B×K.
 *
 * @throws {RangeError} On a malformed batch (see `checkBatch`).
 */
export function formatRewards(batch: RewardBatch, ctx: RewardContext): number[][] {
  checkBatch(batch, ctx);
  return batch.outputs.map((row) => row.map((text) => formatReward(text, ctx.labelRange)));
}

/**
 * The `format` reward id: nothing beyond the format term, which `totalRewards` adds to every reward.
 * Its `compute` is therefore all zeros, so the total is the format reward alone.
 */
export const formatOnly: Reward = {
  id: "format",
  description: "format term only: 0.5 for a parseable answer in range",
  scaleRewards: "group",
  compute(batch, ctx) {
    checkBatch(batch, ctx);
    return batch.outputs.map((row) => row.map(() => 0));
  },
};
