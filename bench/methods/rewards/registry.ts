/**
 * The rewards by id, and the total reward (format term + reward) that the trainer and
 * `deno task rewards` both use.
 *
 * @module
 */

import { groupAdvantages, type ScaleRewards } from "../advantages.ts";
import { ccc } from "./ccc.ts";
import { discoMae } from "./disco.ts";
import { formatOnly, formatRewards } from "./format.ts";
import { mae } from "./mae.ts";
import { ranking } from "./ranking.ts";
import type { Reward, RewardBatch, RewardContext } from "./reward.ts";
import { spearman } from "./spearman.ts";

export type { Reward, RewardBatch, RewardContext } from "./reward.ts";

/** Every reward, by id. */
export const REWARDS: ReadonlyMap<string, Reward> = new Map(
  [formatOnly, mae, discoMae, ranking, spearman, ccc].map((r) => [r.id, r]),
);

/** The reward ids, in registry order. */
export const REWARD_IDS: readonly string[] = [...REWARDS.keys()];

/**
 * The reward registered under `id`.
 *
 * @throws {RangeError} For an unknown id, naming the known ones.
 */
export function rewardById(id: string): Reward {
  const reward = REWARDS.get(id);
  if (!reward) throw new RangeError(`unknown reward "${id}" (known: ${REWARD_IDS.join(", ")})`);
  return reward;
}

/**
 * The total reward of every generation, B×K: the format term (0.5 or 0) plus the reward `rewardId`.
 *
 * @throws {RangeError} For an unknown id, a malformed batch, or a context lacking what the reward needs.
 */
export function totalRewards(rewardId: string, batch: RewardBatch, ctx: RewardContext): number[][] {
  const reward = rewardById(rewardId);
  const format = formatRewards(batch, ctx);
  const rest = reward.compute(batch, ctx);
  return format.map((row, i) => row.map((f, k) => f + rest[i][k]));
}

/** Total rewards and their group advantages. */
export interface ScoredBatch {
  /** B×K total rewards (format included). */
  rewards: number[][];
  /** B×K advantages. */
  advantages: number[][];
}

/**
 * {@linkcode totalRewards} and their advantages, scaled as `scale` says (by default the reward's own
 * `scaleRewards`: `none` for `disco-mae`, TRL's `group` for the others).
 *
 * @throws {RangeError} As {@linkcode totalRewards}, and for K < 2.
 */
export function scoreBatch(
  rewardId: string,
  batch: RewardBatch,
  ctx: RewardContext,
  scale: ScaleRewards = rewardById(rewardId).scaleRewards,
): ScoredBatch {
  const rewards = totalRewards(rewardId, batch, ctx);
  return { rewards, advantages: groupAdvantages(rewards, scale) };
}
