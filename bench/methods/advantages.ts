/**
 * Group-normalised advantages, as Hugging Face TRL's `GRPOTrainer` computes them (methods.md §1.3): the
 * K generations of one prompt form a group, the group mean is the baseline, and by default the centred
 * reward is divided by the group's Bessel-corrected standard deviation plus 1e-4. The Dr. GRPO / DISCO
 * variant (methods.md §2, §4.2) keeps the baseline and drops the division.
 *
 * @module
 */

/** TRL's epsilon, added to the standard deviation (not inside the square root). */
export const ADVANTAGE_EPSILON = 1e-4;

/**
 * How centred rewards are scaled, named after TRL's `scale_rewards`:
 * - `group`: divide by the group's std (TRL's default, GRPO);
 * - `batch`: divide by the std of all B·K rewards, the mean staying per group (TRL ≥ 0.22);
 * - `none`: no division (Dr. GRPO, DISCO; bin weights would otherwise cancel, methods.md §9.3).
 */
export type ScaleRewards = "group" | "batch" | "none";

/** The scalings, for validating flags. */
export const SCALE_REWARDS: readonly ScaleRewards[] = ["group", "batch", "none"];

/**
 * Advantages of a B×K reward matrix (row i holds the K generations of prompt i).
 *
 * A group whose K rewards are equal gets advantage 0 for every generation under every scaling.
 * Reg-GRPO's regression target (methods.md §3.3) is the `group` advantage too.
 *
 * @example
 * ```ts
 * groupAdvantages([[1, 0, 0, 1]]); // [[0.86588…, -0.86588…, -0.86588…, 0.86588…]]
 * ```
 *
 * @param rewards B rows of K finite rewards, K ≥ 2 (a one-sample std is undefined; TRL requires K ≥ 2).
 * @param scale The scaling; `group` by default, as TRL.
 * @throws {RangeError} On ragged rows, K < 2 or a non-finite reward.
 */
export function groupAdvantages(
  rewards: readonly (readonly number[])[],
  scale: ScaleRewards = "group",
): number[][] {
  const k = rewards[0]?.length ?? 0;
  for (const [i, row] of rewards.entries()) {
    if (row.length !== k) throw new RangeError(`group ${i} has ${row.length} rewards, group 0 has ${k}`);
    if (row.some((r) => !Number.isFinite(r))) throw new RangeError(`group ${i} has a non-finite reward`);
  }
  if (rewards.length > 0 && k < 2) throw new RangeError(`need at least 2 generations per group, got ${k}`);
  const means = rewards.map(mean);
  const batchStd = scale === "batch" ? besselStd(rewards.flat()) : 0;
  return rewards.map((row, i) => {
    const divisor = scale === "group"
      ? besselStd(row) + ADVANTAGE_EPSILON
      : scale === "batch"
      ? batchStd + ADVANTAGE_EPSILON
      : 1;
    return row.map((r) => (r - means[i]) / divisor);
  });
}

/** GRPO's default advantages: {@linkcode groupAdvantages} with `scale_rewards="group"`. */
export function grpoAdvantages(rewards: readonly (readonly number[])[]): number[][] {
  return groupAdvantages(rewards, "group");
}

/** Dr. GRPO's (and DISCO's) advantages: the group mean subtracted, no std division. */
export function drGrpoAdvantages(rewards: readonly (readonly number[])[]): number[][] {
  return groupAdvantages(rewards, "none");
}

function mean(x: readonly number[]): number {
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

// Two-pass and Bessel-corrected, as torch.std; an exactly constant group must give exactly 0, so the
// mean of identical values is taken as the value itself (summing K copies can round off it).
function besselStd(x: readonly number[]): number {
  const m = x.every((v) => v === x[0]) ? x[0] : mean(x);
  let ss = 0;
  for (const v of x) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (x.length - 1));
}
