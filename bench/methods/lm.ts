/**
 * What the language-model methods share: teacher-forced batches, the optimiser and its schedule,
 * batch order, greedy test predictions, and checkpointable optimiser state.
 *
 * @module
 */

import { seededRng } from "../core/rng.ts";
import { trainCountsOf } from "./rewards/disco.ts";
import type { OptimConfig, TrainConfig } from "../configs/config.ts";
import { AdamW } from "../gpu/optim.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { readTensors, type Tensor, tensorFrom } from "../gpu/tensor.ts";
import { imageBatch, type ImageSet } from "../model/images.ts";
import { quantitySet } from "../model/quantity.ts";
import { decodeAnswer, encodeAnswer, maxAnswerTokens, PAD, TASK_TOKENS } from "../model/vocab.ts";
import { type GenerateOptions, namedTensors, sampleTokens, trainableParams, type Vlm } from "../model/vlm.ts";
import type { TaskData } from "./method.ts";

/**
 * The learning rate at `step` of `total`: linear warm-up over `warmupSteps`, then constant or cosine
 * decay to `minLrRatio`·lr at the last step.
 */
export function learningRate(step: number, total: number, lr: number, o: OptimConfig): number {
  if (step < o.warmupSteps) return (lr * (step + 1)) / o.warmupSteps;
  if (o.schedule === "constant") return lr;
  const span = Math.max(1, total - o.warmupSteps - 1);
  const progress = Math.min(1, (step - o.warmupSteps) / span);
  return lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** AdamW over the model's trainable tensors with the config's settings. */
export function makeOptimizer(model: Vlm, lr: number, o: OptimConfig): AdamW {
  return new AdamW([{ params: trainableParams(model), lr, weightDecay: o.weightDecay }], {
    beta1: o.beta1,
    beta2: o.beta2,
    eps: o.eps,
    maxGradNorm: o.gradClip,
  });
}

/** The model's trainable tensors and their AdamW moments, by name: what a checkpoint holds. */
export function checkpointTensors(model: Vlm, optimizer: AdamW): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of namedTensors(model)) {
    out.set(name, t);
    if (t.requiresGrad) {
      const { m, v } = optimizer.moments(t);
      out.set(`adam.m/${name}`, m);
      out.set(`adam.v/${name}`, v);
    }
  }
  return out;
}

/**
 * The sample indices of step `i` when `n` samples are shuffled anew every epoch (seeded by `seed` and
 * the epoch) and cut into full batches of `batch` (the remainder of an epoch is dropped, so every step
 * has the same shape and batch-level rewards always see `batch` prompts).
 */
export function batchIndices(i: number, n: number, batch: number, seed: number): number[] {
  const perEpoch = Math.floor(n / batch);
  if (perEpoch < 1) throw new RangeError(`${n} training samples cannot fill one batch of ${batch}`);
  const epoch = Math.floor(i / perEpoch), k = i % perEpoch;
  const order = Array.from({ length: n }, (_, j) => j);
  const rng = seededRng((seed * 1_000_003 + epoch * 7919 + 17) >>> 0);
  for (let j = n - 1; j > 0; j--) {
    const r = Math.floor(rng() * (j + 1));
    [order[j], order[r]] = [order[r], order[j]];
  }
  return order.slice(k * batch, (k + 1) * batch);
}

/** Steps of `epochs` passes over `n` samples in full batches. */
export function stepsFor(n: number, batch: number, epochs: number): number {
  return Math.floor(n / batch) * epochs;
}

/** Teacher-forced text of a batch: inputs [B, T], next-token targets, and the loss mask. */
export interface TextBatch {
  inputs: number[];
  targets: number[];
  mask: number[];
}

/**
 * The text positions of answers: input [task, a₀ … a_{T−2}] and target [a₀ … a_{T−1}], padded with
 * PAD (mask 0) to `length`. An answer longer than the model's text length is an error (a config that
 * cannot represent the labels).
 */
export function textBatch(
  labels: readonly number[],
  task: number,
  decimals: number,
  length: number,
): TextBatch {
  const inputs: number[] = [], targets: number[] = [], mask: number[] = [];
  for (const y of labels) {
    const answer = encodeAnswer(y, decimals);
    if (answer.length > length) {
      throw new RangeError(
        `the answer for label ${y} takes ${answer.length} tokens, more than model.textLength ${length}`,
      );
    }
    for (let t = 0; t < length; t++) {
      inputs.push(t === 0 ? task : t - 1 < answer.length ? answer[t - 1] : PAD);
      targets.push(t < answer.length ? answer[t] : PAD);
      mask.push(t < answer.length ? 1 : 0);
    }
  }
  return { inputs, targets, mask };
}

/** Uploads a text batch: inputs [B, T] u32, targets [B·T] u32, mask [B·T] f32. */
export function uploadText(rt: Runtime, batch: TextBatch, size: number, length: number) {
  return {
    inputs: tensorFrom(rt, batch.inputs, [size, length], { dtype: "u32" }),
    targets: tensorFrom(rt, batch.targets, [size * length], { dtype: "u32" }),
    mask: tensorFrom(rt, batch.mask, [size * length]),
  };
}

/** Batches whose sampled tokens {@linkcode sampleBatches} reads back with one GPU sync. */
export const SAMPLE_READ_EVERY = 16;

/**
 * Samples `samples` answers for the images of every batch (lists of indices into `images`), all with task
 * token `task`: per batch, its token ids [maxTokens, B·K] (see {@linkcode generate}). The batches are
 * queued on the GPU and their tokens read back every {@linkcode SAMPLE_READ_EVERY} batches, so Deno's
 * ~10 ms readback wait is paid once per group rather than once per batch. `stream(j)` is batch j's draw
 * counter; the tokens do not depend on how the batches are grouped.
 */
export async function sampleBatches(
  rt: Runtime,
  model: Vlm,
  images: ImageSet,
  batches: readonly (readonly number[])[],
  task: number,
  options: Omit<GenerateOptions, "stream"> & { stream: (batch: number) => number },
): Promise<Uint32Array[]> {
  const out: Uint32Array[] = [];
  for (let first = 0; first < batches.length; first += SAMPLE_READ_EVERY) {
    const group = batches.slice(first, first + SAMPLE_READ_EVERY);
    const values = await rt.scope(async () => {
      const tokens: Tensor[] = [];
      for (const [j, idx] of group.entries()) {
        tokens.push(
          await rt.scope(() =>
            sampleTokens(model, imageBatch(rt, images, idx), idx.map(() => task), {
              ...options,
              stream: options.stream(first + j),
            })
          ),
        );
        // Submitted now, so the GPU runs this batch while the next one is recorded.
        rt.flush();
      }
      return await readTensors(rt, tokens);
    });
    for (const v of values) out.push(Uint32Array.from(v));
  }
  return out;
}

/** Greedy (or `temperature`) answers for every image of a set, in order, as texts. */
export async function predictTexts(
  rt: Runtime,
  model: Vlm,
  images: ImageSet,
  task: number,
  config: TrainConfig,
  maxTokens: number,
): Promise<string[]> {
  const M = maxTokens, batch = config.eval.batch;
  const batches: number[][] = [];
  for (let start = 0; start < images.count; start += batch) {
    batches.push(Array.from({ length: Math.min(batch, images.count - start) }, (_, j) => start + j));
  }
  const tokens = await sampleBatches(rt, model, images, batches, task, {
    samples: 1,
    temperature: config.eval.temperature,
    seed: config.seed,
    stream: (j) => 1_000_000 + j * batch,
    maxTokens: M,
  });
  const out: string[] = [];
  batches.forEach((idx, j) => {
    for (let b = 0; b < idx.length; b++) {
      out.push(decodeAnswer(Array.from({ length: M }, (_, t) => tokens[j][t * idx.length + b])));
    }
  });
  return out;
}

/**
 * A task on `n` generated images of `side` pixels (the auxiliary bar-length task, labels 0–100) with no
 * test set: what the throughput benchmarks and tests train on without a prepared dataset.
 */
export function generatedTask(n: number, side: number, seed: number): TaskData {
  const set = quantitySet(n, side, 100, seed);
  return {
    id: "generated",
    taskToken: TASK_TOKENS.synthetic,
    decimals: 0,
    answerTokens: maxAnswerTokens(0, 100, 0),
    labelRange: [0, 100],
    binWidth: 1,
    train: { ids: set.labels.map((_, i) => `${i}`), images: set.images, labels: set.labels },
    test: { ids: [], images: { side, count: 0, pixels: new Uint8Array() } },
  };
}

/** The training-label mean (the reward context's fallback for a sample with no valid answer). */
export function trainMean(data: TaskData): number {
  return data.train.labels.reduce((s, y) => s + y, 0) / data.train.labels.length;
}

/** Training samples per label bin, as the scorer's shot regions and the rewards count them. */
export function trainCounts(data: TaskData): number[] {
  return trainCountsOf(data.train.labels, data.labelRange, data.binWidth);
}
