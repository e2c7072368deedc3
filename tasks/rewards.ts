/**
 * `deno task rewards --input <batch.json> [--scale-rewards group|batch|none]`
 *
 * Scores one batch of generations with a reward of the paper and prints, as one line of JSON, the total
 * reward (format term included) of every generation and its group advantage: the same code the trainer
 * calls (`bench/methods/rewards/registry.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { InputError } from "../bench/core/errors.ts";
import { readJsonFile } from "../bench/core/fs.ts";
import { describe } from "../bench/core/jsonl.ts";
import { SCALE_REWARDS, type ScaleRewards } from "../bench/methods/advantages.ts";
import { trainCountsOf } from "../bench/methods/rewards/disco.ts";
import {
  REWARD_IDS,
  type RewardBatch,
  type RewardContext,
  scoreBatch,
  type ScoredBatch,
} from "../bench/methods/rewards/registry.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task rewards --input <batch.json> [--scale-rewards group|batch|none]

  --input <file>         a JSON object:
                           "reward":      one of ${REWARD_IDS.join(", ")}
                           "labels":      [B numbers]
                           "predictions": [B lists of K ≥ 2 answer texts]
                           "labelRange":  [min, max]
                           "trainLabels": [training labels]  (optional; disco-mae needs it)
                           "binWidth":    label bin width     (optional, default 1; disco-mae's bins)
  --scale-rewards <s>    advantage scaling: group (divide by the group's Bessel std + 1e-4, TRL's default),
                         batch, or none (Dr. GRPO); default group for every reward, as GRPO does. The
                         trainer's disco-mae uses none, since the std would cancel its bin weights.

Prints {"rewards": [[K] x B], "advantages": [[K] x B]}: the total reward (format term included) of every
generation and its group advantage.`;

/** The parsed input file of `deno task rewards`. */
export interface RewardsInput {
  /** The reward id. */
  reward: string;
  /** The batch. */
  batch: RewardBatch;
  /** The context built from `labelRange`, `binWidth` and `trainLabels`. */
  ctx: RewardContext;
}

/**
 * Validates the parsed JSON of `file` into a batch and context.
 *
 * @throws {InputError} Naming `file` and the field at fault.
 */
export function parseRewardsInput(json: unknown, file: string): RewardsInput {
  const fail = (message: string): never => {
    throw new InputError(message, { file });
  };
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    fail(`expected a JSON object, got ${describe(json)}`);
  }
  const o = json as Record<string, unknown>;
  if (typeof o.reward !== "string") fail(`"reward" must be a string, got ${describe(o.reward)}`);
  const reward = o.reward as string;
  if (!REWARD_IDS.includes(reward)) fail(`unknown reward "${reward}" (known: ${REWARD_IDS.join(", ")})`);
  const numbers = (key: string, value: unknown): number[] => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "number" || !Number.isFinite(v))) {
      fail(`"${key}" must be an array of finite numbers, got ${describe(value)}`);
    }
    return value as number[];
  };
  if (o.labelRange === undefined) fail(`"labelRange" is missing: give [min, max]`);
  const range = numbers("labelRange", o.labelRange);
  if (range.length !== 2 || !(range[0] < range[1])) fail(`"labelRange" must be [min, max] with min < max`);
  const labelRange: [number, number] = [range[0], range[1]];
  const labels = numbers("labels", o.labels);
  if (labels.length === 0) fail(`"labels" is empty`);
  const p = o.predictions;
  if (!Array.isArray(p) || p.some((row) => !Array.isArray(row) || row.some((t) => typeof t !== "string"))) {
    fail(`"predictions" must be an array of arrays of strings, got ${describe(p)}`);
  }
  const outputs = p as string[][];
  if (outputs.length !== labels.length) {
    fail(`${labels.length} labels but ${outputs.length} rows of predictions: B must match`);
  }
  const k = outputs[0].length;
  if (k < 2) fail(`GRPO needs K ≥ 2 generations per sample, got ${k}`);
  outputs.forEach((row, i) => {
    if (row.length !== k) fail(`predictions[${i}] has ${row.length} texts, predictions[0] has ${k}`);
  });
  labels.forEach((y, i) => {
    if (y < labelRange[0] || y > labelRange[1]) fail(`labels[${i}] = ${y} lies outside labelRange`);
  });
  let binWidth: number | undefined;
  if (o.binWidth !== undefined) {
    if (typeof o.binWidth !== "number" || !(o.binWidth > 0) || !Number.isFinite(o.binWidth)) {
      fail(`"binWidth" must be a positive number, got ${describe(o.binWidth)}`);
    }
    binWidth = o.binWidth as number;
  }
  const ctx: RewardContext = { labelRange, binWidth };
  if (o.trainLabels !== undefined) {
    const train = numbers("trainLabels", o.trainLabels);
    if (train.length === 0) fail(`"trainLabels" is empty`);
    train.forEach((y, i) => {
      if (y < labelRange[0] || y > labelRange[1]) fail(`trainLabels[${i}] = ${y} lies outside labelRange`);
    });
    ctx.trainCounts = trainCountsOf(train, labelRange, binWidth);
    ctx.trainMean = train.reduce((s, y) => s + y, 0) / train.length;
  } else if (reward === "disco-mae") {
    fail(`disco-mae needs "trainLabels" (the training labels, for its bin-prevalence weights)`);
  }
  return { reward, batch: { labels, outputs }, ctx };
}

/**
 * Reads, validates and scores the batch in `file`.
 *
 * @throws {InputError} Naming `file`, for anything wrong with it.
 */
export async function scoreRewardsFile(file: string, scale?: ScaleRewards): Promise<ScoredBatch> {
  const { reward, batch, ctx } = parseRewardsInput(await readJsonFile(file, "reward batch"), file);
  try {
    return scoreBatch(reward, batch, ctx, scale);
  } catch (err) {
    // The rewards check what the file's shape alone cannot (e.g. a label whose bin has no training sample).
    if (err instanceof RangeError) throw new InputError(err.message, { file });
    throw err;
  }
}

if (import.meta.main) {
  await runTask("rewards", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        input: { type: "string" },
        "scale-rewards": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    if (!values.input) throw new UsageError("--input is required");
    const scale = values["scale-rewards"];
    if (scale !== undefined && !(SCALE_REWARDS as readonly string[]).includes(scale)) {
      throw new UsageError(`--scale-rewards must be one of ${SCALE_REWARDS.join(", ")}, got "${scale}"`);
    }
    // The task shows GRPO's default advantages for every reward (the contract); --scale-rewards
    // shows a reward under another scaling, such as disco-mae's own "none".
    const scored = await scoreRewardsFile(values.input, (scale as ScaleRewards | undefined) ?? "group");
    console.log(JSON.stringify({ rewards: scored.rewards, advantages: scored.advantages }));
  });
}
