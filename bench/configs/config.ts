/**
 * Training configurations: YAML files with every hyperparameter of a run (`quick.yaml`, `paper.yaml`
 * beside this file), `--set key=value` overrides, and validation against the quick preset's schema (same
 * keys, same types), so a typo is an error and never a silently ignored setting.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { InputError } from "../core/errors.ts";
import { readTextFile } from "../core/fs.ts";
import type { LoraConfig, ModelConfig } from "../model/vlm.ts";

/** Optimiser and schedule settings shared by every phase. */
export interface OptimConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  gradClip: number;
  warmupSteps: number;
  schedule: "cosine" | "constant";
  minLrRatio: number;
}

/** A whole resolved training configuration. */
export interface TrainConfig {
  preset: string;
  seed: number;
  model: ModelConfig;
  lora: LoraConfig;
  optim: OptimConfig;
  pretrain: { samples: number; epochs: number; batch: number; lr: number; labelMax: number };
  sft: { epochs: number; batch: number; lr: number; softSigma: number };
  grpo: {
    epochs: number;
    batch: number;
    generations: number;
    temperature: number;
    beta: number;
    epsilon: number;
    epsilonHigh: number;
    iterations: number;
    lossType: "default" | "grpo" | "bnpo" | "dr_grpo";
    scaleRewards: "default" | "group" | "batch" | "none";
    regEpsilon: number;
    lr: number;
    init: "backbone" | "sft";
  };
  regression: {
    epochs: number;
    batch: number;
    lr: number;
    ldsKernel: "gaussian" | "triang" | "laplace";
    ldsKs: number;
    ldsSigma: number;
    ldsReweight: "none" | "sqrt_inv" | "inverse";
    fdsKs: number;
    fdsSigma: number;
    fdsMomentum: number;
    fdsStartSmooth: number;
    ranksimGamma: number;
    ranksimLambda: number;
    bmseKind: "bmc" | "gai" | "bni";
    bmseInitSigma: number;
    bmseSigmaLr: number;
  };
  eval: { batch: number; temperature: number };
  checkpoint: { every: number };
}

/** The bundled presets, by name. */
export const PRESETS: Readonly<Record<string, string>> = {
  quick: fileURLToPath(new URL("./quick.yaml", import.meta.url)),
  paper: fileURLToPath(new URL("./paper.yaml", import.meta.url)),
};

/** Allowed values of the string settings (everything else is typed by the quick preset). */
const CHOICES: Readonly<Record<string, readonly string[]>> = {
  "optim.schedule": ["cosine", "constant"],
  "grpo.lossType": ["default", "grpo", "bnpo", "dr_grpo"],
  "grpo.scaleRewards": ["default", "group", "batch", "none"],
  "grpo.init": ["backbone", "sft"],
  "regression.ldsKernel": ["gaussian", "triang", "laplace"],
  "regression.ldsReweight": ["none", "sqrt_inv", "inverse"],
  "regression.bmseKind": ["bmc", "gai", "bni"],
};

/** Settings that must be positive integers. */
const POSITIVE_INTEGERS = [
  "pretrain.samples",
  "pretrain.epochs",
  "pretrain.batch",
  "pretrain.labelMax",
  "sft.epochs",
  "sft.batch",
  "grpo.epochs",
  "grpo.batch",
  "grpo.iterations",
  "regression.epochs",
  "regression.batch",
  "eval.batch",
  "checkpoint.every",
  "lora.rank",
];

async function readYaml(path: string): Promise<unknown> {
  const text = await readTextFile(path, "config");
  try {
    return parseYaml(text);
  } catch (e) {
    throw new InputError(`not valid YAML: ${(e as Error).message.split("\n")[0]}`, { file: path });
  }
}

let schema: Record<string, unknown> | undefined;

/** The quick preset, which defines every key and its type. */
async function quickSchema(): Promise<Record<string, unknown>> {
  schema ??= (await readYaml(PRESETS.quick)) as Record<string, unknown>;
  return schema;
}

function typeOf(v: unknown): string {
  return Array.isArray(v) ? "list" : v === null ? "null" : typeof v;
}

/** Checks `value` against the schema object, collecting `problems` with dotted paths. */
function checkAgainst(value: unknown, shape: unknown, path: string, problems: string[]): void {
  if (typeOf(shape) === "object") {
    if (typeOf(value) !== "object") {
      problems.push(`${path || "the config"} must be a mapping, got ${typeOf(value)}`);
      return;
    }
    const v = value as Record<string, unknown>, s = shape as Record<string, unknown>;
    for (const key of Object.keys(v)) {
      if (!(key in s)) problems.push(`unknown setting ${path ? `${path}.` : ""}${key}`);
    }
    for (const key of Object.keys(s)) {
      const sub = path ? `${path}.${key}` : key;
      if (!(key in v)) problems.push(`missing setting ${sub}`);
      else checkAgainst(v[key], s[key], sub, problems);
    }
    return;
  }
  if (typeOf(value) !== typeOf(shape)) {
    problems.push(`${path} must be a ${typeOf(shape)}, got ${JSON.stringify(value)}`);
    return;
  }
  const choices = CHOICES[path];
  if (choices && !choices.includes(value as string)) {
    problems.push(`${path} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === "number" && !Number.isFinite(value)) problems.push(`${path} must be finite`);
  if (POSITIVE_INTEGERS.includes(path) && !(Number.isInteger(value) && (value as number) >= 1)) {
    problems.push(`${path} must be a positive integer, got ${value}`);
  }
}

/** Sets a dotted key in a nested object (`grpo.beta=0`), the value parsed as a YAML scalar or list. */
export function applySet(config: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new InputError(`--set ${assignment}: expected key=value, e.g. grpo.beta=0.04`);
  const path = assignment.slice(0, eq).trim().split(".");
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = parseYaml(raw);
  } catch {
    value = raw;
  }
  let node = config;
  for (const key of path.slice(0, -1)) {
    if (typeOf(node[key]) !== "object") {
      throw new InputError(`--set ${assignment}: ${path.join(".")} is not a setting`);
    }
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1)!;
  if (!(last in node)) throw new InputError(`--set ${assignment}: unknown setting ${path.join(".")}`);
  node[last] = value;
}

/**
 * Loads a configuration: `source` is a preset name (`quick`, `paper`) or a YAML path, then each
 * `key=value` of `sets` is applied in order, then the result is validated.
 *
 * @throws {InputError} Naming the file (or `--set`) and every problem found.
 */
export async function loadConfig(source = "quick", sets: readonly string[] = []): Promise<TrainConfig> {
  const path = PRESETS[source] ?? source;
  const config = structuredClone(await readYaml(path)) as Record<string, unknown>;
  if (typeOf(config) !== "object") throw new InputError("a config must be a YAML mapping", { file: path });
  for (const s of sets) applySet(config, s);
  const problems: string[] = [];
  checkAgainst(config, await quickSchema(), "", problems);
  if (problems.length > 0) {
    const after = sets.length > 0 ? ` (with --set ${sets.join(" --set ")})` : "";
    throw new InputError(`invalid config${after}:\n  ${problems.join("\n  ")}`, { file: path });
  }
  const c = config as unknown as TrainConfig;
  if (c.model.image % c.model.patch !== 0 || c.model.dim % c.model.heads !== 0) {
    throw new InputError(
      `invalid config: model.image must be a multiple of model.patch and model.dim of model.heads`,
      { file: path },
    );
  }
  if (c.grpo.generations < 2) {
    throw new InputError(`invalid config: grpo.generations must be at least 2 (a group std needs two)`, {
      file: path,
    });
  }
  return c;
}
