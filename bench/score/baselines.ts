/**
 * Label-prior baselines: predictors that ignore the input and answer from the training labels alone.
 * They are the floor every method must beat, and the limit of "regression to the mean" that the paper
 * studies: a model that has collapsed onto the training prior scores like these on the few-shot region.
 *
 * @module
 */

import { mean, median } from "simple-statistics";

/** A constant predictor derived from the training labels. */
export interface PriorBaseline {
  /** Method name, e.g. `train-mean`. */
  name: string;
  /** What it predicts and why it is a reference point. */
  description: string;
  /** The constant it predicts. */
  value: number;
}

/** The constant baselines of a training split: its mean (optimal for MSE) and median (optimal for MAE). */
export function priorBaselines(trainLabels: readonly number[]): PriorBaseline[] {
  if (trainLabels.length === 0) throw new RangeError("no training labels");
  const labels = trainLabels as number[];
  return [
    {
      name: "train-mean",
      description: "predicts the mean training label for every input (the MSE-optimal constant)",
      value: mean(labels),
    },
    {
      name: "train-median",
      description: "predicts the median training label for every input (the MAE-optimal constant)",
      value: median(labels),
    },
  ];
}
