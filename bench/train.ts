/**
 * The run loop behind `deno task train`: config → data → backbone (pretrained once per config hash and
 * cached) → for GRPO, the SFT start (trained once per backbone, config and training set, and cached) →
 * the method's phase, step by step with `log.jsonl`, a progress bar and checkpoints →
 * test predictions → the scorer → `results.json`, all in one run directory. A run interrupted at any
 * point continues with `resume` from its last checkpoint, bit for bit on the same adapter.
 *
 * Run directory: `config.json` (resolved settings), `log.jsonl`, `checkpoints/`, `predictions.jsonl`,
 * `results.json`.
 *
 * @module
 */

import { join } from "node:path";
import { defaultCacheDir } from "../datasets/cache.ts";
import { type PreparedDataset, readPreparedDataset } from "../datasets/format.ts";
import type { TaskId } from "../datasets/prompts.ts";
import type { TrainConfig } from "./configs/config.ts";
import { InputError } from "./core/errors.ts";
import { exists, isDir, readTextFile, writeFileAtomic, writeJsonAtomic } from "./core/fs.ts";
import { sha256Hex } from "./core/hash.ts";
import { progress } from "./core/progress.ts";
import { collectProvenance } from "./core/provenance.ts";
import { type GpuBackend, openGpu } from "./gpu/device.ts";
import { type Runtime, runtimeFor } from "./gpu/runtime.ts";
import type { Method, MethodContext, Phase, TaskData } from "./methods/method.ts";
import { supervisedPhase } from "./methods/sft.ts";
import { resolveLogs, type StepLog } from "./methods/step_log.ts";
import { methodById } from "./methods/registry.ts";
import { loadCheckpoint, saveCheckpoint } from "./model/checkpoint.ts";
import { loadImages } from "./model/images.ts";
import { quantitySet } from "./model/quantity.ts";
import { decimalsFor, maxAnswerTokens, TASK_TOKENS } from "./model/vocab.ts";
import { attachLora, attachRegressionHead, initVlm, mergeLora, namedTensors, type Vlm } from "./model/vlm.ts";
import { buildResults, type Results } from "./score/results.ts";
import { scoreDataset } from "./score/score.ts";

/** Inputs of {@linkcode train}. */
export interface TrainOptions {
  /** Prepared dataset directory. */
  data: string;
  /** Method id. */
  method: string;
  /** Resolved configuration. */
  config: TrainConfig;
  /** Where the config came from (preset name or file), recorded in the results. */
  configSource: string;
  /** Run directory. */
  out: string;
  /** Continue a run from its last checkpoint. */
  resume?: boolean;
  /** Stop (as a crash would) right after the checkpoint at this step; for testing resumption. */
  stopAfter?: number;
  /** WebGPU implementation. */
  gpu?: GpuBackend;
  /** Suppress progress output. */
  quiet?: boolean;
  /** Backbone cache directory (default: the dirbench cache). */
  cache?: string;
}

/** What {@linkcode train} produced. */
export interface TrainOutput {
  results: Results;
  /** Wall seconds: backbone (load or pretrain), GRPO's SFT start (load or train; 0 otherwise), training, predicting and scoring. */
  seconds: { backbone: number; start: number; train: number; predict: number };
  /** Mean training throughput in samples (prompts) per second. */
  samplesPerSecond: number;
}

/** Thrown when `stopAfter` is reached: the run stopped on purpose after a checkpoint. */
export class StoppedEarly extends Error {}

/** Reads the labels, images and answer format of a prepared dataset for the model. */
export async function loadTaskData(
  dataset: PreparedDataset,
  config: TrainConfig,
  quiet = false,
): Promise<TaskData> {
  const m = dataset.manifest;
  const task = (m.task as TaskId | undefined) ?? "synthetic";
  const taskToken = TASK_TOKENS[task];
  if (taskToken === undefined) {
    throw new InputError(`unknown task "${task}"`, { file: join(dataset.dir, "manifest.json") });
  }
  const labels = dataset.train.samples.map((s) => s.label);
  const decimals = decimalsFor([...labels, ...dataset.test.samples.map((s) => s.label)]);
  const need = maxAnswerTokens(m.label.min, m.label.max, decimals);
  if (need > config.model.textLength) {
    throw new InputError(
      `labels up to ${m.label.max} with ${decimals} decimals need model.textLength ≥ ${need} (config has ${config.model.textLength})`,
      { file: join(dataset.dir, "manifest.json") },
    );
  }
  const side = config.model.image;
  return {
    id: m.id,
    taskToken,
    decimals,
    answerTokens: need,
    labelRange: [m.label.min, m.label.max],
    binWidth: m.label.binWidth,
    train: {
      ids: dataset.train.samples.map((s) => s.id),
      images: await loadImages(dataset, dataset.train.samples, side, { quiet, label: "train images" }),
      labels,
    },
    test: {
      ids: dataset.test.samples.map((s) => s.id),
      images: await loadImages(dataset, dataset.test.samples, side, { quiet, label: "test images" }),
    },
  };
}

/**
 * The cache key of a backbone: everything its pretraining depends on. `v` changes when the engine's
 * arithmetic does (a kernel choice changes the rounding), so a cache never mixes old weights with new code.
 */
export async function backboneKey(config: TrainConfig): Promise<string> {
  const basis = {
    v: 2,
    seed: config.seed,
    model: config.model,
    optim: config.optim,
    pretrain: config.pretrain,
  };
  return await cacheKey(basis);
}

/** The 16-hex-digit cache key of a JSON basis. */
async function cacheKey(basis: unknown): Promise<string> {
  return (await sha256Hex(new TextEncoder().encode(JSON.stringify(basis)))).slice(0, 16);
}

/**
 * Trains `phase` into the cache directory `dir` (resumable from its checkpoints there): writes `basis`
 * as `config.json` first and the `done` marker last, so a directory without the marker is never taken
 * for a finished one.
 */
async function trainIntoCache(
  phase: Phase,
  dir: string,
  files: { basis: unknown; done: string; key: string },
  options: { label: string; every: number; quiet?: boolean },
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, "config.json"), files.basis);
  await runPhase(phase, dir, { ...options, logFile: join(dir, "log.jsonl") });
  await writeJsonAtomic(files.done, { key: files.key, steps: phase.steps, date: new Date().toISOString() });
}

/** Steps between log readbacks in {@linkcode runPhase}: one ~10 ms GPU sync per this many steps. */
export const LOG_READ_EVERY = 50;

/**
 * Runs `phase` from its last checkpoint in `dir` (or from step 0), appending to `logFile`, with a
 * progress bar, a checkpoint every `every` steps and at the end.
 */
export async function runPhase(
  phase: Phase,
  dir: string,
  options: { label: string; every: number; logFile: string; quiet?: boolean; stopAfter?: number },
): Promise<{ seconds: number; samplesPerSecond: number }> {
  const restored = await loadCheckpoint(join(dir, "checkpoints"), phase.tensors());
  const start = restored?.step ?? 0;
  if (restored) phase.loadState(restored.state);
  await truncateLog(options.logFile, start);
  const bar = progress(options.label, phase.steps * phase.samplesPerStep, {
    quiet: options.quiet,
    unit: "samples",
  });
  bar.set(start * phase.samplesPerStep);
  const began = performance.now();
  const log = await Deno.open(options.logFile, { append: true, create: true });
  // Steps whose logs are still on the GPU; read back together (one ~10 ms sync) every LOG_READ_EVERY steps
  // and before every checkpoint, so the log always covers the newest checkpoint.
  let pending: { step: number; log: StepLog }[] = [];
  const writeLogs = async () => {
    const resolved = await resolveLogs(pending.map((p) => p.log));
    const lines = resolved.map((record, j) =>
      JSON.stringify({ step: pending[j].step, ...round(record) }) + "\n"
    );
    pending = [];
    await log.write(new TextEncoder().encode(lines.join("")));
  };
  try {
    for (let i = start; i < phase.steps; i++) {
      pending.push({ step: i + 1, log: await phase.step(i) });
      bar.tick(phase.samplesPerStep);
      const last = i + 1 === phase.steps;
      const checkpoint = last || (i + 1) % options.every === 0 || i + 1 === options.stopAfter;
      if (checkpoint || pending.length >= LOG_READ_EVERY) await writeLogs();
      if (checkpoint) await saveCheckpoint(join(dir, "checkpoints"), i + 1, phase.tensors(), phase.state());
      if (i + 1 === options.stopAfter && !last) {
        throw new StoppedEarly(`stopped after step ${i + 1} as asked`);
      }
    }
  } finally {
    log.close();
  }
  bar.done();
  const seconds = (performance.now() - began) / 1000;
  const steps = phase.steps - start;
  return { seconds, samplesPerSecond: seconds > 0 ? (steps * phase.samplesPerStep) / seconds : 0 };
}

function round(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(record).map(([k, v]) => [k, Number.isFinite(v) ? +v.toPrecision(7) : v]),
  );
}

/** Drops log lines of steps after `step` (a resumed run repeats them). */
async function truncateLog(file: string, step: number): Promise<void> {
  if (!await exists(file)) return;
  const lines = (await readTextFile(file, "log")).split("\n").filter((l) => l.trim() !== "");
  const kept = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length !== lines.length) await writeFileAtomic(file, kept.map((l) => l + "\n").join(""));
}

/**
 * The pretrained backbone for `config`, from the cache, pretraining it there first when missing
 * (resumable too: the cache directory holds the phase's checkpoints until it is complete).
 */
export async function ensureBackbone(
  rt: Runtime,
  config: TrainConfig,
  cache: string,
  options: { quiet?: boolean } = {},
): Promise<{ model: Vlm; dir: string; key: string; trained: boolean }> {
  const key = await backboneKey(config);
  const dir = join(cache, "backbones", key);
  const model = initVlm(rt, config.model, config.seed);
  const done = join(dir, "backbone.json");
  if (await exists(done)) {
    const restored = await loadCheckpoint(join(dir, "checkpoints"), new Map([...model.params]));
    if (restored) return { model, dir, key, trained: false };
  }
  const p = config.pretrain;
  const set = quantitySet(p.samples, config.model.image, p.labelMax, config.seed);
  const phase = supervisedPhase({ rt, config, model }, {
    images: set.images,
    labels: set.labels,
    task: TASK_TOKENS.quantity,
    decimals: 0,
    length: maxAnswerTokens(0, p.labelMax, 0),
    epochs: p.epochs,
    batch: p.batch,
    lr: p.lr,
    sigma: null,
    test: set.images,
    testTask: TASK_TOKENS.quantity,
  });
  await trainIntoCache(phase, dir, { basis: config, done, key }, {
    label: "pretrain",
    every: config.checkpoint.every,
    quiet: options.quiet,
  });
  return { model, dir, key, trained: true };
}

/** A digest of what a method trains on: task, answer format, labels and every training pixel. */
export async function trainDataKey(data: TaskData): Promise<string> {
  const head = new TextEncoder().encode(
    JSON.stringify([data.taskToken, data.decimals, data.answerTokens, data.labelRange, data.train.labels]),
  );
  const { pixels } = data.train.images;
  const bytes = new Uint8Array(head.length + pixels.length);
  bytes.set(head);
  bytes.set(pixels, head.length);
  return (await sha256Hex(bytes)).slice(0, 16);
}

/** Where the SFT start of this config, backbone and training set is cached, and what its key hashes. */
async function sftStartDir(config: TrainConfig, data: TaskData, cache: string, backbone: string) {
  const basis = {
    v: 2,
    backbone,
    seed: config.seed,
    lora: config.lora,
    optim: config.optim,
    sft: config.sft,
    data: await trainDataKey(data),
  };
  const key = await cacheKey(basis);
  return { key, basis, dir: join(cache, "sft-starts", key) };
}

/**
 * Puts the `sft` method's weights for this backbone and training set into `model` (the backbone),
 * training them once into the cache (`<cache>/sft-starts/<key>`, resumable) when missing, then folds
 * any LoRA adapters into the base weights: the model GRPO starts from when `grpo.init` is `sft`.
 */
export async function ensureSftStart(
  rt: Runtime,
  config: TrainConfig,
  data: TaskData,
  cache: string,
  model: Vlm,
  backbone: string,
  options: { quiet?: boolean } = {},
): Promise<{ key: string; trained: boolean }> {
  const { key, basis, dir } = await sftStartDir(config, data, cache, backbone);
  const done = join(dir, "start.json");
  attachLora(model, config.lora, config.seed);
  let trained = false;
  if (!(await exists(done) && await loadCheckpoint(join(dir, "checkpoints"), namedTensors(model)))) {
    const phase = methodById("sft").start({ rt, config, data, model });
    await trainIntoCache(phase, dir, { basis, done, key }, {
      label: "sft (GRPO start)",
      every: config.checkpoint.every,
      quiet: options.quiet,
    });
    trained = true;
  }
  mergeLora(model);
  return { key, trained };
}

/**
 * Stores a finished `sft` run's weights as the SFT start of its config, backbone and training set, when
 * the cache lacks it: the same training, so the GRPO methods after an `sft` run need not repeat it.
 */
async function storeSftStart(
  config: TrainConfig,
  data: TaskData,
  cache: string,
  model: Vlm,
  backbone: string,
  run: { out: string; steps: number },
): Promise<void> {
  const { key, basis, dir } = await sftStartDir(config, data, cache, backbone);
  const done = join(dir, "start.json");
  if (await exists(done)) return;
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, "config.json"), basis);
  await saveCheckpoint(join(dir, "checkpoints"), run.steps, namedTensors(model), {});
  await writeFileAtomic(join(dir, "log.jsonl"), await Deno.readFile(join(run.out, "log.jsonl")));
  await writeJsonAtomic(done, { key, steps: run.steps, date: new Date().toISOString(), from: run.out });
}

/** Trains `options.method` and scores it; see the module notes. */
export async function train(options: TrainOptions): Promise<TrainOutput> {
  const method: Method = methodById(options.method);
  const { config, out } = options;
  const dataset = await readPreparedDataset(options.data);
  if (await exists(out) && !(await isDir(out))) {
    throw new InputError("is a file; --out must be a run directory", { file: out });
  }
  if (!options.resume && await exists(out) && [...Deno.readDirSync(out)].length > 0) {
    throw new InputError("is not empty; choose another --out, or pass --resume to continue that run", {
      file: out,
    });
  }
  if (options.resume && await exists(join(out, "config.json"))) {
    const before = JSON.parse(await readTextFile(join(out, "config.json"), "run config"));
    if (JSON.stringify(before.config) !== JSON.stringify(config) || before.method !== method.id) {
      throw new InputError("was started with another method or config; --resume needs the same ones", {
        file: join(out, "config.json"),
      });
    }
  }
  // Everything that can fail on bad input (the GPU, every image) is checked before the run directory exists.
  const gpu = await openGpu(options.gpu ?? "deno");
  const rt = runtimeFor(gpu);
  const data = await loadTaskData(dataset, config, options.quiet);
  await Deno.mkdir(out, { recursive: true });
  await writeJsonAtomic(join(out, "config.json"), {
    method: method.id,
    data: options.data,
    source: options.configSource,
    config,
  });
  const cache = options.cache ?? defaultCacheDir();

  const t0 = performance.now();
  const backbone = await ensureBackbone(rt, config, cache, { quiet: options.quiet });
  const model = backbone.model;
  const tStart = performance.now();
  const start = method.family === "grpo" && config.grpo.init === "sft"
    ? await ensureSftStart(rt, config, data, cache, model, backbone.key, { quiet: options.quiet })
    : null;
  if (method.family === "regression") attachRegressionHead(model, config.seed);
  else if (method.family !== "zeroshot" && method.family !== "pretrain") {
    attachLora(model, config.lora, config.seed);
  }
  const t1 = performance.now();

  const ctx: MethodContext = { rt, config, data, model };
  const phase = method.start(ctx);
  const run = await runPhase(phase, out, {
    label: method.id,
    every: config.checkpoint.every,
    logFile: join(out, "log.jsonl"),
    quiet: options.quiet,
    stopAfter: options.stopAfter,
  });
  if (method.id === "sft") {
    await storeSftStart(config, data, cache, model, backbone.key, { out, steps: phase.steps });
  }
  const t2 = performance.now();

  const answers = await phase.predict();
  const predictions = answers.map((a, i) => ({ id: data.test.ids[i], ...a }));
  await writeFileAtomic(
    join(out, "predictions.jsonl"),
    predictions.map((p) => JSON.stringify(p) + "\n").join(""),
  );
  const scored = scoreDataset(dataset, predictions, {}, join(out, "predictions.jsonl"));
  const provenance = await collectProvenance({
    seeds: { train: config.seed },
    adapter: { description: gpu.info.description, fallback: gpu.info.fallback, backend: gpu.info.backend },
  });
  const results = buildResults(dataset, scored, {
    name: method.id,
    config: {
      family: method.family,
      configSource: options.configSource,
      // A string, so leaderboards group results by it: one table per backbone.
      backbone: `dirbench-vlm-${config.preset}`,
      backboneKey: backbone.key,
      // The cached SFT weights a GRPO run started from (grpo.init = sft), else absent.
      ...(start ? { sftStartKey: start.key } : {}),
      resolved: config,
    },
  }, provenance);
  await writeJsonAtomic(join(out, "results.json"), results);
  const t3 = performance.now();
  return {
    results,
    seconds: {
      backbone: (tStart - t0) / 1000,
      start: start ? (t1 - tStart) / 1000 : 0,
      train: (t2 - t1) / 1000,
      predict: (t3 - t2) / 1000,
    },
    samplesPerSecond: run.samplesPerSecond,
  };
}
