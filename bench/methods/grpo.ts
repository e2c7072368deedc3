/**
 * The GRPO family (methods.md §1–3, §8): each step samples K answers for each of B training images,
 * scores them with a reward (format term included), turns rewards into group advantages, and updates
 * the policy with the clipped surrogate plus a k3 KL penalty to the frozen starting model. The model it
 * is handed is that start: the SFT model by default (`grpo.init`, see `ensureSftStart` in train.ts).
 *
 * Variants:
 * - `grpo`: advantages scaled as the reward prefers (group std; none for DISCO), per-sequence mean loss;
 * - `dr-grpo`: no std scaling, constant normaliser B·T (Dr. GRPO);
 * - `reg-grpo`: regresses the group-normalised implicit advantage of the sequence log-ratio onto the
 *   group-normalised reward advantage (methods.md §3.3), with the std of the log-ratios detached and
 *   ε_reg added (§3.4 option a), plus the same KL penalty.
 *
 * Method ids are `<variant>-<reward>` (`grpo-ccc`, `dr-grpo-mae`, …), one per reward of the registry.
 *
 * @module
 */

import { backward, noGrad } from "../gpu/autograd.ts";
import { tokenLogProbs } from "../gpu/ops/cross_entropy.ts";
import { copy, scale } from "../gpu/ops/elementwise.ts";
import { aggregationWeights, type LossAggregation, policyLoss } from "../gpu/ops/policy_loss.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { full, readTensors, tensorFrom } from "../gpu/tensor.ts";
import { imageBatch } from "../model/images.ts";
import { decodeAnswer, EOS } from "../model/vocab.ts";
import { encodeGroups, type ForwardOptions, generate, lmLogits } from "../model/vlm.ts";
import type { ScaleRewards } from "./advantages.ts";
import { groupAdvantages } from "./advantages.ts";
import type { Method, MethodContext, Phase } from "./method.ts";
import { deviceScalar, deviceValue } from "./step_log.ts";
import {
  batchIndices,
  checkpointTensors,
  learningRate,
  makeOptimizer,
  predictTexts,
  stepsFor,
  trainCounts,
  trainMean,
} from "./lm.ts";
import { rewardById, REWARDS, totalRewards } from "./rewards/registry.ts";

/** The GRPO variants. */
export type GrpoVariant = "grpo" | "dr-grpo" | "reg-grpo";

/** The variants, in listing order. */
export const GRPO_VARIANTS: readonly GrpoVariant[] = ["grpo", "dr-grpo", "reg-grpo"];

/** The method-id suffix of a reward (`disco-mae` is `disco` in method ids, as the paper names it). */
export function rewardSuffix(rewardId: string): string {
  return rewardId === "disco-mae" ? "disco" : rewardId;
}

/**
 * Completion masks of generated tokens [M, BK] (step-major): 1 up to and including the first EOS,
 * 0 after it; a completion without EOS keeps all M tokens (TRL's default, mask_truncated off).
 * Returned sequence-major [BK, M].
 */
export function completionMask(tokens: ArrayLike<number>, sequences: number, length: number): Float32Array {
  const mask = new Float32Array(sequences * length);
  for (let s = 0; s < sequences; s++) {
    for (let t = 0; t < length; t++) {
      mask[s * length + t] = 1;
      if (tokens[t * sequences + s] === EOS) break;
    }
  }
  return mask;
}

/**
 * Reg-GRPO's gradient of its regression loss with respect to each sequence log-ratio ρ (methods.md §3.3,
 * §3.4 a): L = (1/B) Σ_i (1/K) Σ_k (Â_ik − Â^θ_ik)², Â^θ_ik = (ρ_ik − mean_k ρ_ik)/(sg(std_k ρ_ik) + ε).
 * Returns the loss and dL/dρ [B][K].
 */
export function regGrpoGradient(
  targets: readonly (readonly number[])[],
  rho: readonly (readonly number[])[],
  epsilon: number,
): { loss: number; grad: number[][] } {
  const B = targets.length;
  let loss = 0;
  const grad = targets.map((row, i) => {
    const K = row.length;
    const m = rho[i].reduce((s, v) => s + v, 0) / K;
    const std = Math.sqrt(rho[i].reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, K - 1));
    const c = std + epsilon;
    const implicit = rho[i].map((v) => (v - m) / c);
    const diff = implicit.map((v, k) => v - row[k]);
    loss += diff.reduce((s, d) => s + d * d, 0) / K / B;
    const meanDiff = diff.reduce((s, d) => s + d, 0) / K;
    // d/dρ_j of (1/K)Σ_k diff_k² with the mean inside Â^θ and c held fixed.
    return diff.map((d) => (2 / (K * c * B)) * (d - meanDiff));
  });
  return { loss, grad };
}

function resolvedLossType(variant: GrpoVariant, configured: string): LossAggregation {
  if (configured !== "default") return configured as LossAggregation;
  return variant === "dr-grpo" ? "dr_grpo" : "grpo";
}

function resolvedScale(variant: GrpoVariant, rewardId: string, configured: string): ScaleRewards {
  if (configured !== "default") return configured as ScaleRewards;
  if (variant === "dr-grpo") return "none";
  if (variant === "reg-grpo") return "group";
  return rewardById(rewardId).scaleRewards;
}

function grpoPhase(ctx: MethodContext, variant: GrpoVariant, rewardId: string): Phase {
  const { rt, config, data, model } = ctx;
  const g = config.grpo;
  const optimizer = makeOptimizer(model, g.lr, config.optim);
  const n = data.train.labels.length, steps = stepsFor(n, g.batch, g.epochs);
  const B = g.batch, K = g.generations, BK = B * K, M = data.answerTokens;
  const lossType = resolvedLossType(variant, g.lossType);
  const scaleRewards = resolvedScale(variant, rewardId, g.scaleRewards);
  const rewardCtx = {
    labelRange: data.labelRange,
    trainCounts: trainCounts(data),
    binWidth: data.binWidth,
    trainMean: trainMean(data),
  };
  // The frozen reference: the adapter-less base with LoRA, else a copy of the starting weights.
  const reference: ForwardOptions = model.lora.size > 0
    ? { adapters: false }
    : { base: new Map([...model.params].map(([name, t]) => [name, noGrad(() => copy(t))])) };
  for (const t of reference.base?.values() ?? []) rt.untrack(t);

  /**
   * Per-token log-probs [BK·M] of the sampled tokens under the policy (or the reference): each image's
   * prefix is encoded once for its K completions (encodeGroups).
   */
  const tokenLogprobs = (
    images: Tensor,
    tasks: number[],
    answers: Tensor,
    targets: Tensor,
    options: ForwardOptions = {},
  ) => {
    const logits = lmLogits(model, encodeGroups(model, images, tasks, answers, K, options), options);
    const scaled = g.temperature > 0 && g.temperature !== 1 ? scale(logits, 1 / g.temperature) : logits;
    return tokenLogProbs(scaled, targets);
  };

  return {
    steps,
    samplesPerStep: B,
    async step(i) {
      const started = performance.now();
      const lr = learningRate(i, steps, g.lr, config.optim);
      optimizer.groups[0].lr = lr;
      const idx = batchIndices(i, n, B, config.seed);
      return await rt.scope(async () => {
        const images = imageBatch(rt, data.train.images, idx);
        const tokens = await generate(model, images, idx.map(() => data.taskToken), {
          samples: K,
          temperature: g.temperature,
          seed: config.seed,
          stream: i,
          maxTokens: M,
        });
        const outputs = idx.map((_, b) =>
          Array.from(
            { length: K },
            (_, k) => decodeAnswer(Array.from({ length: M }, (_, t) => tokens[t * BK + b * K + k])),
          )
        );
        const labels = idx.map((j) => data.train.labels[j]);
        const rewards = totalRewards(rewardId, { labels, outputs }, rewardCtx);
        const advantages = groupAdvantages(rewards, scaleRewards);
        const mask = completionMask(tokens, BK, M);
        // Teacher-force the sampled completions: after the task token, g₀ … g_{M−2}; targets g₀ … g_{M−1}.
        const inputs: number[] = [], targets: number[] = [];
        for (let s = 0; s < BK; s++) {
          for (let t = 0; t < M; t++) {
            if (t > 0) inputs.push(tokens[(t - 1) * BK + s]);
            targets.push(tokens[t * BK + s]);
          }
        }
        const tasks = idx.map(() => data.taskToken);
        const answers = tensorFrom(rt, inputs, [BK, M - 1], { dtype: "u32" });
        const target = tensorFrom(rt, targets, [BK * M], { dtype: "u32" });
        const lpRef = g.beta > 0
          ? noGrad(() => tokenLogprobs(images, tasks, answers, target, reference))
          : full(rt, [BK * M], 0);
        const weights = aggregationWeights(mask, BK, M, lossType);
        let lpOld: Tensor | null = null, loss: Tensor | null = null;
        let regLoss = 0;
        for (let it = 0; it < g.iterations; it++) {
          const lp = tokenLogprobs(images, tasks, answers, target);
          lpOld ??= noGrad(() => copy(lp));
          let tokenAdv: Float32Array;
          if (variant === "reg-grpo") {
            // ρ = Σ_t m·(lp − lpOld) per sequence: exactly 0 on the first pass.
            const rho = it === 0
              ? advantages.map((row) => row.map(() => 0))
              : await sequenceLogRatios(lp, lpOld, mask, B, K, M);
            const r = regGrpoGradient(advantages, rho, g.regEpsilon);
            regLoss = r.loss;
            // The fused loss's gradient is −w·A per token; choose A so that it equals dL/dρ of the sequence.
            tokenAdv = new Float32Array(BK * M);
            for (let s = 0; s < BK; s++) {
              for (let t = 0; t < M; t++) {
                const w = weights[s * M + t];
                if (w > 0) tokenAdv[s * M + t] = -r.grad[Math.floor(s / K)][s % K] / w;
              }
            }
          } else {
            tokenAdv = Float32Array.from(
              { length: BK * M },
              (_, j) => advantages[Math.floor(j / (K * M))][Math.floor(j / M) % K],
            );
          }
          loss = policyLoss(
            lp,
            lpOld,
            lpRef,
            tensorFrom(rt, tokenAdv, [BK * M]),
            tensorFrom(rt, weights, [BK * M]),
            { epsLow: g.epsilon, epsHigh: g.epsilonHigh, beta: g.beta },
          );
          backward(loss, full(rt, [1], 1));
          optimizer.update();
          optimizer.zeroGrad();
        }
        // Submit now, so the GPU runs the update while the next step is recorded.
        rt.flush();
        // Logged without a readback (the run loop reads many steps' logs at once): the last pass's loss,
        // and the KL from the sampling-time log-probs.
        return {
          loss: variant === "reg-grpo" ? regLoss : deviceScalar(loss!),
          ...rewardStats(rewards),
          kl: g.beta > 0 ? deviceValue([lpOld!, lpRef], ([lp, ref]) => meanKl(lp, ref, mask)) : 0,
          completion_tokens: mask.reduce((s, m) => s + m, 0) / BK,
          lr,
          samples_per_s: (B * 1000) / (performance.now() - started),
        };
      });
    },
    tensors: () => checkpointTensors(model, optimizer),
    state: () => ({ optimizerStep: optimizer.step }),
    loadState(state) {
      optimizer.step = (state as { optimizerStep: number }).optimizerStep;
    },
    async predict() {
      const texts = await predictTexts(rt, model, data.test.images, data.taskToken, config, M);
      return texts.map((output) => ({ output }));
    },
  };
}

async function sequenceLogRatios(
  lp: Tensor,
  old: Tensor,
  mask: Float32Array,
  B: number,
  K: number,
  M: number,
) {
  const [a, b] = await readTensors(lp.rt, [lp, old]);
  return Array.from({ length: B }, (_, i) =>
    Array.from({ length: K }, (_, k) => {
      let s = 0;
      for (let t = 0; t < M; t++) {
        const j = (i * K + k) * M + t;
        s += mask[j] * (a[j] - b[j]);
      }
      return s;
    }));
}

/** Mean k3 KL over completion tokens. */
function meanKl(lp: Float32Array, ref: Float32Array, mask: Float32Array): number {
  let s = 0, n = 0;
  for (let j = 0; j < mask.length; j++) {
    if (!mask[j]) continue;
    const d = ref[j] - lp[j];
    s += Math.exp(d) - d - 1;
    n++;
  }
  return n > 0 ? s / n : 0;
}

/** Reward mean and std over the batch, and the share of groups whose K rewards are all equal. */
export function rewardStats(rewards: readonly (readonly number[])[]): Record<string, number> {
  const flat = rewards.flat();
  const mean = flat.reduce((s, r) => s + r, 0) / flat.length;
  const std = Math.sqrt(flat.reduce((s, r) => s + (r - mean) ** 2, 0) / Math.max(1, flat.length - 1));
  const zero = rewards.filter((row) => row.every((r) => r === row[0])).length / rewards.length;
  return { reward_mean: mean, reward_std: std, frac_reward_zero_std: zero };
}

/** The method `<variant>-<reward suffix>`. */
export function grpoMethod(variant: GrpoVariant, rewardId: string): Method {
  const reward = rewardById(rewardId);
  return {
    id: `${variant}-${rewardSuffix(rewardId)}`,
    family: "grpo",
    description: `${variant} with the ${reward.id} reward (+ format): ${reward.description}`,
    start: (ctx) => grpoPhase(ctx, variant, rewardId),
  };
}

/** Every GRPO method: each variant with each reward except the bare format reward. */
export function grpoMethods(): Method[] {
  const rewards = [...REWARDS.keys()].filter((id) => id !== "format");
  return GRPO_VARIANTS.flatMap((v) => rewards.map((r) => grpoMethod(v, r)));
}
