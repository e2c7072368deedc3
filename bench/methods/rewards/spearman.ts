/**
 * The batch-level `spearman` reward: as `ccc` (methods.md §8.3's vectors, invalid-output handling and
 * anchorless samples), with Spearman's rank correlation (average ranks for ties, §8.2) as the measure.
 * [U: methods.md defines the metric, not this reward; it is the CCC reward with the measure swapped.]
 * The scorer's `spearman` has no 1e-6 in its denominator (torchmetrics has); a constant rank vector is
 * null there and scores 0 here.
 *
 * @module
 */

import { spearman as rho } from "../../score/metrics.ts";
import {
  againstOtherAnchors,
  resolvePredictions,
  type Reward,
  type RewardBatch,
  type RewardContext,
} from "./reward.ts";

/** The `spearman` reward of every generation, B×K. */
export function spearmanRewards(batch: RewardBatch, ctx: RewardContext): number[][] {
  return againstOtherAnchors(batch, resolvePredictions(batch, ctx), rho);
}

/** Registry entry of the batch-level Spearman reward. */
export const spearman: Reward = {
  id: "spearman",
  description: "batch-level: Spearman of [q_k(x_i), anchors of the other samples] against their labels",
  scaleRewards: "group",
  compute: spearmanRewards,
};
