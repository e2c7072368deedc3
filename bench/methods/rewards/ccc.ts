/**
 * The batch-level `ccc` reward of the seed paper (methods.md §8.3): generation q_k(x_i), followed by the
 * anchors q̄_j (mean valid prediction) of the other samples, against the labels y_i, y_j, by Lin's CCC.
 *
 * Choices [U], each the default methods.md documents:
 * - population (1/n) moments, Lin's form (`ccc` of the scorer, so training and evaluation agree);
 * - invalid outputs take their sample's anchor (or `trainMean` if anchorless) and lose the format term;
 *   anchorless samples are dropped from every vector;
 * - ε: the scorer's CCC has no 1e-8 in its denominator and returns null exactly where that ε would give
 *   0 (both vectors the same constant); null scores 0 here. Elsewhere the two differ by < 1e-8 / denominator.
 * - B ≥ 4 is advised (`MIN_BATCH_PROMPTS`) but not enforced, so the B = 3 test vector runs.
 *
 * @module
 */

import { ccc as lin } from "../../score/metrics.ts";
import {
  againstOtherAnchors,
  resolvePredictions,
  type Reward,
  type RewardBatch,
  type RewardContext,
} from "./reward.ts";

/** Fewest prompts per reward call methods.md §8.3 advises for batch-level rewards (N = 1, 2 degenerate). */
export const MIN_BATCH_PROMPTS = 4;

/** The `ccc` reward of every generation, B×K. */
export function cccRewards(batch: RewardBatch, ctx: RewardContext): number[][] {
  return againstOtherAnchors(batch, resolvePredictions(batch, ctx), lin);
}

/** Registry entry of the batch-level CCC reward (CCC-GRPO). */
export const ccc: Reward = {
  id: "ccc",
  description: "batch-level: CCC of [q_k(x_i), anchors of the other samples] against their labels",
  scaleRewards: "group",
  compute: cccRewards,
};
