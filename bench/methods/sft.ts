/**
 * Supervised fine-tuning on answer texts: `sft` (token cross-entropy), `sft-soft` (numerical-distance-aware
 * digit targets, methods.md §6.1), and the backbone's `pretrain` phase (the same loss on the generated
 * quantity task). Each step: a teacher-forced forward over B sequences, the loss on the answer tokens,
 * backward, AdamW.
 *
 * @module
 */

import { backward } from "../gpu/autograd.ts";
import { crossEntropy } from "../gpu/ops/cross_entropy.ts";
import { mul, scale } from "../gpu/ops/elementwise.ts";
import { sum } from "../gpu/ops/reduce.ts";
import { logSoftmax } from "../gpu/ops/softmax.ts";
import { full, type Tensor, tensorFrom } from "../gpu/tensor.ts";
import { imageBatch, type ImageSet } from "../model/images.ts";
import { digitValue, VOCAB_SIZE } from "../model/vocab.ts";
import { encode, lmLogits, selectRows, textRows, type Vlm } from "../model/vlm.ts";
import type { Method, MethodContext, Phase } from "./method.ts";
import { deviceScalar } from "./step_log.ts";
import {
  batchIndices,
  checkpointTensors,
  learningRate,
  makeOptimizer,
  predictTexts,
  stepsFor,
  type TextBatch,
  textBatch,
  uploadText,
} from "./lm.ts";

/**
 * Soft targets [N, V] for `targets` (methods.md §6.1): a digit target d* becomes a Gaussian over the
 * digit tokens, q(v) ∝ exp(−(v − d*)²/(2σ²)) by digit value; any other target stays one-hot; masked rows
 * are zero. Rows are scaled by 1/(number of unmasked rows), so −Σ q·log p is the mean token loss.
 */
export function softTargets(
  targets: readonly number[],
  mask: readonly number[],
  sigma: number,
): Float32Array {
  const q = new Float32Array(targets.length * VOCAB_SIZE);
  const count = Math.max(1, mask.reduce((s, m) => s + (m > 0 ? 1 : 0), 0));
  targets.forEach((target, t) => {
    if (!(mask[t] > 0)) return;
    const row = t * VOCAB_SIZE, d = digitValue(target);
    if (d < 0 || !(sigma > 0)) {
      q[row + target] = 1 / count;
      return;
    }
    let z = 0;
    const w = new Array<number>(VOCAB_SIZE).fill(0);
    for (let v = 0; v < VOCAB_SIZE; v++) {
      const dv = digitValue(v);
      if (dv >= 0) z += w[v] = Math.exp(-((dv - d) ** 2) / (2 * sigma * sigma));
    }
    for (let v = 0; v < VOCAB_SIZE; v++) q[row + v] = w[v] / z / count;
  });
  return q;
}

/** The answer-token loss of a teacher-forced batch: hard cross-entropy, or soft digit targets when `sigma` is set. */
export function answerLoss(
  model: Vlm,
  images: Tensor,
  text: TextBatch,
  size: number,
  sigma: number | null,
): Tensor {
  const rt = images.rt, T = text.inputs.length / size;
  const t = uploadText(rt, text, size, T);
  const logits = lmLogits(model, selectRows(encode(model, images, t.inputs), textRows(model, size, T)));
  if (sigma === null) return crossEntropy(logits, t.targets, { weights: t.mask });
  const q = tensorFrom(rt, softTargets(text.targets, text.mask, sigma), [size * T, VOCAB_SIZE]);
  return scale(sum(mul(logSoftmax(logits), q)), -1);
}

/** Options of a supervised phase. */
export interface SupervisedOptions {
  images: ImageSet;
  labels: readonly number[];
  task: number;
  decimals: number;
  /** Text length trained on: the longest answer's tokens (EOS included). */
  length: number;
  epochs: number;
  batch: number;
  lr: number;
  /** Soft-target σ (sft-soft), or null for hard cross-entropy. */
  sigma: number | null;
  /** Predict this test set at the end. */
  test: ImageSet;
  testTask: number;
}

/** A supervised phase over `options`' samples. */
export function supervisedPhase(
  ctx: Pick<MethodContext, "rt" | "config" | "model">,
  options: SupervisedOptions,
): Phase {
  const { rt, config, model } = ctx;
  const optimizer = makeOptimizer(model, options.lr, config.optim);
  const n = options.labels.length, steps = stepsFor(n, options.batch, options.epochs);
  const T = options.length;
  return {
    steps,
    samplesPerStep: options.batch,
    async step(i) {
      const lr = learningRate(i, steps, options.lr, config.optim);
      optimizer.groups[0].lr = lr;
      const idx = batchIndices(i, n, options.batch, config.seed);
      const logged = await rt.scope(() => {
        const text = textBatch(idx.map((j) => options.labels[j]), options.task, options.decimals, T);
        const l = answerLoss(model, imageBatch(rt, options.images, idx), text, idx.length, options.sigma);
        backward(l, full(rt, [1], 1));
        optimizer.update();
        optimizer.zeroGrad();
        return deviceScalar(l);
      });
      // Submit now, so the GPU runs this step while the next one is recorded.
      rt.flush();
      return { loss: logged, lr };
    },
    tensors: () => checkpointTensors(model, optimizer),
    state: () => ({ optimizerStep: optimizer.step }),
    loadState(state) {
      optimizer.step = (state as { optimizerStep: number }).optimizerStep;
    },
    async predict() {
      const texts = await predictTexts(rt, model, options.test, options.testTask, config, T);
      return texts.map((output) => ({ output }));
    },
  };
}

function sftMethod(id: string, soft: boolean): Method {
  return {
    id,
    family: "sft",
    description: soft
      ? "SFT with numerical-distance-aware soft digit targets (Gaussian over digit values, σ = sft.softSigma)"
      : "supervised fine-tuning: token cross-entropy on the answer",
    start(ctx) {
      const { data, config } = ctx;
      return supervisedPhase(ctx, {
        images: data.train.images,
        labels: data.train.labels,
        task: data.taskToken,
        decimals: data.decimals,
        length: data.answerTokens,
        epochs: config.sft.epochs,
        batch: config.sft.batch,
        lr: config.sft.lr,
        sigma: soft ? config.sft.softSigma : null,
        test: data.test.images,
        testTask: data.taskToken,
      });
    },
  };
}

/** `sft`: token cross-entropy from the backbone. */
export const sft: Method = sftMethod("sft", false);

/** `sft-soft`: soft digit targets from the backbone. */
export const sftSoft: Method = sftMethod("sft-soft", true);
