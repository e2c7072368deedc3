/**
 * What every reward shares: the batch and context types, the {@linkcode Reward} interface, and how the
 * B×K generation texts become numbers (validity, substitution of invalid outputs, per-sample anchors).
 *
 * Validity is one predicate for every reward and for the format term: an output is valid when
 * {@linkcode parseAnswer} (strict, the only parser) finds a number in its first `<answer>` block and the
 * number lies within the label range. So "earned the format reward" and "counted as a prediction" never
 * disagree, and values are bounded, so no moment can overflow. [U: methods.md §8.3 treats only unparseable
 * and non-finite outputs as invalid and leaves clipping optional; out-of-range answers are invalid here
 * because the format reward already requires the range.]
 *
 * @module
 */

import { parseAnswer } from "../../score/parse.ts";
import type { ScaleRewards } from "../advantages.ts";

/** One reward call: B prompts (their labels) and the K generated texts of each, prompt-major. */
export interface RewardBatch {
  /** Ground-truth label of each of the B prompts. */
  labels: readonly number[];
  /** B rows of K generation texts; row i belongs to `labels[i]`. */
  outputs: readonly (readonly string[])[];
}

/** What a reward may need beyond the batch. */
export interface RewardContext {
  /** The label range [min, max]: answers outside it are invalid; bins start at min. */
  labelRange: readonly [number, number];
  /** Training samples per label bin (bin b = floor((y − min) / binWidth)); DISCO's prevalence weights. */
  trainCounts?: readonly number[];
  /** Width of a label bin; 1 by default, as the DIR benchmarks' integer bins. */
  binWidth?: number;
  /**
   * Substitute prediction of a sample none of whose K outputs is valid (methods.md §8.3: "the
   * training-label mean"). [U] Without it, the midpoint of the label range. It never changes an
   * advantage: all K generations of such a sample get the same value, hence the same reward.
   */
  trainMean?: number;
}

/** A reward function over a whole batch (batch-level rewards need every sample at once). */
export interface Reward {
  /** The id used in configurations and by `deno task rewards`. */
  id: string;
  /** One line on what it rewards. */
  description: string;
  /**
   * The advantage scaling the variant is meant to train with (methods.md §4.2, §9.3): `none` where a
   * per-group weight would otherwise cancel, `group` (TRL's default) elsewhere.
   */
  scaleRewards: ScaleRewards;
  /**
   * The reward of every generation, B×K, **excluding** the format term (see `totalRewards`).
   *
   * @throws {RangeError} When the batch or context is malformed or lacks what this reward needs.
   */
  compute(batch: RewardBatch, ctx: RewardContext): number[][];
}

/** The batch's outputs as numbers. */
export interface ResolvedPredictions {
  /** B×K predictions; an invalid output holds its sample's anchor (or the fallback, if anchorless). */
  values: number[][];
  /** B×K: whether the output was valid. */
  valid: boolean[][];
  /** Per sample, the mean of its valid outputs; null when none is valid ("anchorless", §8.3). */
  anchors: (number | null)[];
}

/**
 * The prediction an output stands for, or null if it is invalid (unparseable, or outside the range).
 *
 * @param text One generation.
 * @param labelRange The label range [min, max], inclusive.
 */
export function validPrediction(text: string, labelRange: readonly [number, number]): number | null {
  const { value } = parseAnswer(text, "strict");
  if (value === null || value < labelRange[0] || value > labelRange[1]) return null;
  return value;
}

/**
 * Checks the batch's shape and the context's range.
 *
 * @throws {RangeError} On B = 0, a label count that differs from the rows, ragged rows, K = 0, a
 *   non-finite label, a label outside the range, or a range that is not finite with min < max.
 */
export function checkBatch(batch: RewardBatch, ctx: RewardContext): void {
  const [min, max] = ctx.labelRange;
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) {
    throw new RangeError(`labelRange must be two finite numbers with min < max, got [${min}, ${max}]`);
  }
  const b = batch.labels.length;
  if (b === 0) throw new RangeError("the batch is empty");
  if (batch.outputs.length !== b) {
    throw new RangeError(`${b} labels but ${batch.outputs.length} rows of predictions`);
  }
  const k = batch.outputs[0].length;
  if (k === 0) throw new RangeError("sample 0 has no generations");
  for (let i = 0; i < b; i++) {
    if (batch.outputs[i].length !== k) {
      throw new RangeError(`sample ${i} has ${batch.outputs[i].length} generations, sample 0 has ${k}`);
    }
    const y = batch.labels[i];
    if (!Number.isFinite(y) || y < min || y > max) {
      throw new RangeError(`label ${i} (${y}) is not a finite number in [${min}, ${max}]`);
    }
  }
}

/**
 * Parses the batch and substitutes invalid outputs as methods.md §8.3 prescribes: an invalid output takes
 * the mean of its sample's valid outputs; a sample without any takes `ctx.trainMean` (default: the range's
 * midpoint). Substituting the mean leaves each anchor equal to the mean of the filled row.
 * [U] The same substitution serves every reward, not only CCC, so all are deterministic (VisualQuality-R1's
 * random draw in the range is the documented alternative, rejected for its noise).
 *
 * @throws {RangeError} As {@linkcode checkBatch}.
 */
export function resolvePredictions(batch: RewardBatch, ctx: RewardContext): ResolvedPredictions {
  checkBatch(batch, ctx);
  const fallback = ctx.trainMean ?? (ctx.labelRange[0] + ctx.labelRange[1]) / 2;
  const values: number[][] = [], valid: boolean[][] = [], anchors: (number | null)[] = [];
  for (const row of batch.outputs) {
    const parsed = row.map((text) => validPrediction(text, ctx.labelRange));
    const ok = parsed.filter((v): v is number => v !== null);
    const anchor = ok.length > 0 ? ok.reduce((s, v) => s + v, 0) / ok.length : null;
    values.push(parsed.map((v) => v ?? anchor ?? fallback));
    valid.push(parsed.map((v) => v !== null));
    anchors.push(anchor);
  }
  return { values, valid, anchors };
}

/**
 * The batch-level pattern of methods.md §8.3: each generation's value q_k(x_i), followed by the anchors
 * of the other samples, is scored against the matching labels by `metric`. Anchorless samples are left
 * out of every vector [U, §8.3]; an undefined metric (null) scores 0, the convention of CCC's ε.
 *
 * @param batch The batch.
 * @param resolved Its parsed predictions.
 * @param metric A vector agreement measure, e.g. CCC or Spearman.
 */
export function againstOtherAnchors(
  batch: RewardBatch,
  resolved: ResolvedPredictions,
  metric: (predictions: number[], labels: number[]) => number | null,
): number[][] {
  return resolved.values.map((row, i) => {
    const pred = [0], tgt = [batch.labels[i]];
    resolved.anchors.forEach((anchor, j) => {
      if (j !== i && anchor !== null) {
        pred.push(anchor);
        tgt.push(batch.labels[j]);
      }
    });
    // Only the first entry changes between the K generations of a sample.
    return row.map((q) => {
      pred[0] = q;
      return metric(pred, tgt) ?? 0;
    });
  });
}
