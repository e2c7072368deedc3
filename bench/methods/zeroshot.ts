/**
 * `zeroshot` and `pretrain`: no training on the target task. `pretrain` is the backbone's own run
 * (its pretraining on the auxiliary quantity task happens, once per config hash, before any method; the
 * run then reports the backbone's zero-shot answers); `zeroshot` answers with the cached backbone.
 *
 * @module
 */

import type { Method, MethodContext, Phase } from "./method.ts";
import { checkpointTensors, makeOptimizer, predictTexts } from "./lm.ts";

function answerOnly(ctx: MethodContext): Phase {
  const { rt, config, data, model } = ctx;
  // No step runs; the optimiser only gives the checkpoint its usual shape.
  const optimizer = makeOptimizer(model, 0, config.optim);
  return {
    steps: 0,
    samplesPerStep: 1,
    step: () => Promise.reject(new Error("a zero-shot method has no training step")),
    tensors: () => checkpointTensors(model, optimizer),
    state: () => ({}),
    loadState: () => {},
    async predict() {
      const texts = await predictTexts(
        rt,
        model,
        data.test.images,
        data.taskToken,
        config,
        data.answerTokens,
      );
      return texts.map((output) => ({ output }));
    },
  };
}

/** `zeroshot`: the pretrained backbone, asked with the dataset's task token. */
export const zeroshot: Method = {
  id: "zeroshot",
  family: "zeroshot",
  description: "the pretrained backbone answering without any training on the task",
  start: answerOnly,
};

/** `pretrain`: pretrains the backbone on the auxiliary quantity task (cached), then answers zero-shot. */
export const pretrain: Method = {
  id: "pretrain",
  family: "pretrain",
  description: "pretrain the backbone on the generated, balanced bar-length task (cached by config hash)",
  start: answerOnly,
};
