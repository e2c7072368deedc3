/**
 * What a training method is to the run loop: an id, a family, and a function that builds a
 * {@linkcode Phase} (the steps to run, resumable from a checkpoint) and predicts the test set at the end.
 *
 * @module
 */

import type { TrainConfig } from "../configs/config.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import type { ImageSet } from "../model/images.ts";
import type { Vlm } from "../model/vlm.ts";
import type { StepLog } from "./step_log.ts";

/** Method families: how the model is trained and how it answers. */
export type MethodFamily = "zeroshot" | "pretrain" | "sft" | "grpo" | "regression";

/** The data a method trains on and predicts. */
export interface TaskData {
  /** Dataset id (for records). */
  id: string;
  /** The dataset's task token id. */
  taskToken: number;
  /** Digits after the point in answers. */
  decimals: number;
  /** Tokens of the longest answer (EOS included): the text length trained and generated. */
  answerTokens: number;
  /** Label range [min, max]. */
  labelRange: [number, number];
  /** Bin width of the label axis. */
  binWidth: number;
  /** Training images and labels. */
  train: { ids: string[]; images: ImageSet; labels: number[] };
  /** Test images (labels are never shown to a method). */
  test: { ids: string[]; images: ImageSet };
}

/** Everything a method gets. */
export interface MethodContext {
  rt: Runtime;
  config: TrainConfig;
  data: TaskData;
  /** The backbone (pretrained, or freshly initialised for `pretrain`), ready to adapt. */
  model: Vlm;
}

export type { StepLog } from "./step_log.ts";

/** A resumable sequence of training steps. */
export interface Phase {
  /** Total steps. */
  steps: number;
  /** Samples (prompts) consumed per step, for the progress rate. */
  samplesPerStep: number;
  /** Records step `i` (0-based) and returns what to log; values still on the GPU are read back later, in batches. */
  step(i: number): Promise<StepLog>;
  /** Every tensor a checkpoint must hold (trainable weights, optimiser moments), by name. */
  tensors(): Map<string, Tensor>;
  /** JSON-serialisable state beyond tensors (optimiser step, running statistics). */
  state(): unknown;
  /** Restores {@linkcode Phase.state}'s output. */
  loadState(state: unknown): void;
  /** The test predictions after training: answer texts or values, in test order. */
  predict(): Promise<{ output: string }[] | { value: number }[]>;
}

/** A training method. */
export interface Method {
  /** The id used with `--method`. */
  id: string;
  family: MethodFamily;
  /** One line for `deno task methods`. */
  description: string;
  /** Builds the phase (model adapted, optimiser created). */
  start(ctx: MethodContext): Phase;
}
