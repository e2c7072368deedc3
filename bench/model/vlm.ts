/**
 * The small LLaVA-style vision-language model, readable top to bottom: image patches (patchify + linear)
 * and a task token form a bidirectional prefix, then the answer is generated token by token under a
 * causal mask by one pre-LN transformer. LoRA adapters (optional) sit on the attention and MLP
 * projections; a scalar regression head on the task token's final state serves the classical DIR
 * baselines.
 *
 * Sequence layout for a batch of B images and text of T tokens:
 *
 *   position  0 … P−1    P           P+1 … P+T−1
 *   input     patches    task token  answer tokens fed back (teacher forcing or sampling)
 *   predicts  —          answer[0]   answer[1 …]
 *
 * @module
 */

import { seededRng } from "../core/rng.ts";
import { noGrad } from "../gpu/autograd.ts";
import { attention, attentionDecode } from "../gpu/ops/attention.ts";
import { concatSeq, copyRows } from "../gpu/ops/concat.ts";
import { add } from "../gpu/ops/elementwise.ts";
import { embedding } from "../gpu/ops/embedding.ts";
import { layerNorm } from "../gpu/ops/layernorm.ts";
import { matmul } from "../gpu/ops/matmul.ts";
import { patchify } from "../gpu/ops/patchify.ts";
import { permute, reshape } from "../gpu/ops/shape.ts";
import { sampleCategorical } from "../gpu/rng.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { full, type Tensor, tensorFrom } from "../gpu/tensor.ts";
import { VOCAB_SIZE } from "./vocab.ts";

/** Architecture sizes (the `model` section of a config). */
export interface ModelConfig {
  /** Image side in pixels (images are resized to image × image RGB). */
  image: number;
  /** Patch side; image must be a multiple of it. */
  patch: number;
  /** Model width. */
  dim: number;
  /** Attention heads (dim must be a multiple). */
  heads: number;
  /** Transformer layers. */
  layers: number;
  /** MLP hidden width = mlpRatio × dim. */
  mlpRatio: number;
  /** Text positions after the patches: the task token plus the longest answer (EOS included) − 1. */
  textLength: number;
  /** Standard deviation of the initial weights. */
  initStd: number;
}

/** LoRA settings (the `lora` section). */
export interface LoraConfig {
  /** Whether adapters are used; false means a full fine-tune. */
  enabled: boolean;
  /** Rank r. */
  rank: number;
  /** Scaling numerator: the update is (alpha / r)·x·A·B. */
  alpha: number;
  /** Which projections get adapters (subset of wq, wk, wv, wo, w1, w2). */
  targets: readonly string[];
}

/** The projections LoRA can adapt. */
export const LORA_TARGETS = ["wq", "wk", "wv", "wo", "w1", "w2"] as const;

/** Number of image patches. */
export function patchCount(c: ModelConfig): number {
  return (c.image / c.patch) ** 2;
}

/** Total sequence length: patches + text. */
export function sequenceLength(c: ModelConfig): number {
  return patchCount(c) + c.textLength;
}

/** Checks a model config, naming the offending field. */
export function checkModelConfig(c: ModelConfig): void {
  const positive = ["image", "patch", "dim", "heads", "layers", "mlpRatio", "textLength"] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new RangeError(`model.${k} must be a positive integer, got ${c[k]}`);
    }
  }
  if (c.image % c.patch !== 0) {
    throw new RangeError(`model.image ${c.image} is not a multiple of model.patch ${c.patch}`);
  }
  if (c.dim % c.heads !== 0) {
    throw new RangeError(`model.dim ${c.dim} is not a multiple of model.heads ${c.heads}`);
  }
  if (!(c.initStd > 0)) throw new RangeError(`model.initStd must be positive, got ${c.initStd}`);
}

/** The model: named parameters (base weights, adapters, regression head) and its configuration. */
export interface Vlm {
  config: ModelConfig;
  /** Base weights by name (`patch.w`, `tok`, `pos`, `l0.wq`, …, `head`). */
  params: Map<string, Tensor>;
  /** LoRA factors by name (`l0.wq.a`, `l0.wq.b`), when adapters are attached. */
  lora: Map<string, Tensor>;
  /** LoRA scaling alpha / r (0 without adapters). */
  loraScale: number;
  /** Regression head (`reg.w` [D, 1], `reg.b` [1]), when attached. */
  regHead: Map<string, Tensor>;
}

const CHANNELS = 3;

/** Creates a model with seeded random weights (all trainable until frozen). */
export function initVlm(rt: Runtime, config: ModelConfig, seed: number): Vlm {
  checkModelConfig(config);
  const rng = seededRng(seed);
  const { dim: D, layers: L, initStd: std } = config;
  const H = config.mlpRatio * D, F = CHANNELS * config.patch ** 2;
  const params = new Map<string, Tensor>();
  const uniform = (name: string, shape: number[], s: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    // Uniform with the requested standard deviation (±s·√3).
    const data = Float32Array.from({ length: n }, () => (rng() * 2 - 1) * s * Math.sqrt(3));
    params.set(name, tensorFrom(rt, data, shape, { requiresGrad: true, name }));
  };
  const constant = (name: string, n: number, value: number) => {
    const t = full(rt, [n], value);
    t.requiresGrad = true;
    t.name = name;
    params.set(name, t);
  };
  uniform("patch.w", [F, D], 1 / Math.sqrt(F));
  constant("patch.b", D, 0);
  uniform("tok", [VOCAB_SIZE, D], std);
  uniform("pos", [sequenceLength(config), D], std);
  for (let l = 0; l < L; l++) {
    constant(`l${l}.ln1.g`, D, 1);
    constant(`l${l}.ln1.b`, D, 0);
    for (const w of ["wq", "wk", "wv"]) uniform(`l${l}.${w}`, [D, D], std);
    uniform(`l${l}.wo`, [D, D], std / Math.sqrt(2 * L));
    constant(`l${l}.bo`, D, 0);
    constant(`l${l}.ln2.g`, D, 1);
    constant(`l${l}.ln2.b`, D, 0);
    uniform(`l${l}.w1`, [D, H], std);
    constant(`l${l}.b1`, H, 0);
    uniform(`l${l}.w2`, [H, D], std / Math.sqrt(2 * L));
    constant(`l${l}.b2`, D, 0);
  }
  constant("lnf.g", D, 1);
  constant("lnf.b", D, 0);
  uniform("head", [D, VOCAB_SIZE], std);
  return { config, params, lora: new Map(), loraScale: 0, regHead: new Map() };
}

/**
 * Attaches LoRA adapters to the configured projections and freezes every base weight: A is random
 * (std 1/√in), B is zero, so the adapted model starts equal to the base.
 */
export function attachLora(model: Vlm, lora: LoraConfig, seed: number): void {
  if (!lora.enabled) return;
  for (const t of lora.targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw new RangeError(`lora.targets: unknown projection "${t}" (known: ${LORA_TARGETS.join(", ")})`);
    }
  }
  if (!Number.isInteger(lora.rank) || lora.rank < 1) {
    throw new RangeError(`lora.rank must be a positive integer`);
  }
  const rng = seededRng(seed ^ 0x10ea);
  const rt = model.params.get("tok")!.rt;
  for (let l = 0; l < model.config.layers; l++) {
    for (const t of lora.targets) {
      const w = model.params.get(`l${l}.${t}`)!;
      const [inDim, outDim] = w.shape;
      const a = Float32Array.from(
        { length: inDim * lora.rank },
        () => (rng() * 2 - 1) * Math.sqrt(3 / inDim),
      );
      model.lora.set(
        `l${l}.${t}.a`,
        tensorFrom(rt, a, [inDim, lora.rank], { requiresGrad: true, name: `l${l}.${t}.a` }),
      );
      const b = full(rt, [lora.rank, outDim], 0);
      b.requiresGrad = true;
      b.name = `l${l}.${t}.b`;
      model.lora.set(`l${l}.${t}.b`, b);
    }
  }
  model.loraScale = lora.alpha / lora.rank;
  for (const p of model.params.values()) p.requiresGrad = false;
}

/**
 * Folds the LoRA adapters into the base weights (W ← W + s·A·B) and removes them, so the model that
 * was base + adapters becomes a plain model: the start of a later fine-tune whose frozen reference is
 * this model (GRPO from an SFT start). Every base weight becomes trainable again, as after
 * {@linkcode initVlm}; {@linkcode attachLora} freezes them anew.
 */
export function mergeLora(model: Vlm): void {
  noGrad(() => {
    for (const [name, merged] of foldedWeights(model)) {
      const w = model.params.get(name)!;
      if (merged === w) continue;
      merged.name = name;
      model.params.set(name, merged);
      w.release();
    }
  });
  for (const t of model.lora.values()) t.release();
  model.lora.clear();
  model.loraScale = 0;
  for (const p of model.params.values()) p.requiresGrad = true;
}

/** The base weights with each LoRA update folded in (W + s·A·B, one dispatch each); the others as they are. */
function foldedWeights(model: Vlm): Map<string, Tensor> {
  const out = new Map(model.params);
  for (const [name, w] of model.params) {
    const a = model.lora.get(`${name}.a`), b = model.lora.get(`${name}.b`);
    if (a && b) out.set(name, matmul(a, b, { alpha: model.loraScale, addend: w }));
  }
  return out;
}

/** Attaches the scalar regression head (zero-initialised bias, small weights). */
export function attachRegressionHead(model: Vlm, seed: number): void {
  const rng = seededRng(seed ^ 0x4ead);
  const rt = model.params.get("tok")!.rt;
  const D = model.config.dim;
  const w = Float32Array.from({ length: D }, () => (rng() * 2 - 1) * Math.sqrt(3 / D));
  model.regHead.set("reg.w", tensorFrom(rt, w, [D, 1], { requiresGrad: true, name: "reg.w" }));
  const b = full(rt, [1], 0);
  b.requiresGrad = true;
  b.name = "reg.b";
  model.regHead.set("reg.b", b);
}

/** Every tensor that is trained (requiresGrad), in a stable order. */
export function trainableParams(model: Vlm): Tensor[] {
  return [...model.params.values(), ...model.lora.values(), ...model.regHead.values()].filter((t) =>
    t.requiresGrad
  );
}

/** Every tensor of the model by name (what a checkpoint stores). */
export function namedTensors(model: Vlm): Map<string, Tensor> {
  return new Map([...model.params, ...model.lora, ...model.regHead]);
}

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Use the LoRA adapters (default true); false gives the frozen base, GRPO's reference model. */
  adapters?: boolean;
  /** Base weights to use instead of the model's own (a frozen reference copy for full fine-tunes). */
  base?: Map<string, Tensor>;
}

/**
 * x·W (+ bias) with the layer's LoRA update when adapters are on: x·W + s·(x·A)·B; plus `residual` when
 * given, then the activation. The scale, the additions and the activation run in the store of the last
 * matmul (its fused epilogue), not as dispatches of their own.
 */
function linear(
  model: Vlm,
  weights: Map<string, Tensor>,
  x: Tensor,
  name: string,
  bias: string | null,
  adapters: boolean,
  activation?: "gelu",
  residual?: Tensor,
): Tensor {
  const a = adapters ? model.lora.get(`${name}.a`) : undefined;
  const b = bias ? weights.get(bias)! : undefined;
  if (!a) return matmul(x, weights.get(name)!, { bias: b, activation, addend: residual });
  const base = matmul(x, weights.get(name)!, { bias: b, addend: residual });
  return matmul(matmul(x, a), model.lora.get(`${name}.b`)!, {
    alpha: model.loraScale,
    addend: base,
    activation,
  });
}

/**
 * The final hidden states [B·S, D] (after the last layer norm) of images [B, 3, side, side] and text
 * ids [B, T] (u32; T = config.textLength). Differentiable in every trainable parameter.
 */
export function encode(model: Vlm, images: Tensor, text: Tensor, options: ForwardOptions = {}): Tensor {
  const c = model.config;
  const w = options.base ?? model.params;
  const adapters = options.adapters ?? true;
  const B = images.shape[0], P = patchCount(c), T = text.shape[1], S = P + T, D = c.dim;
  if (text.shape.length !== 2 || text.shape[0] !== B || T > c.textLength) {
    throw new RangeError(`encode: text [${text.shape}] must be [${B}, ≤ ${c.textLength}]`);
  }
  const patches = matmul(patchify(images, c.patch), w.get("patch.w")!, { bias: w.get("patch.b") });
  let x = concatSeq(patches, embedding(w.get("tok")!, text));
  x = reshape(add(x, positions(w.get("pos")!, S)), [B * S, D]);
  for (let l = 0; l < c.layers; l++) x = block(model, w, x, l, B, S, P + 1, adapters);
  return layerNorm(x, w.get("lnf.g")!, w.get("lnf.b")!);
}

/** The first S rows of the positional table, as [S, D] (a copy, so its gradient flows back). */
function positions(pos: Tensor, s: number): Tensor {
  if (s === pos.shape[0]) return pos;
  const ids = tensorFrom(pos.rt, Array.from({ length: s }, (_, i) => i), [s], { dtype: "u32" });
  return embedding(pos, ids);
}

/**
 * Layer l's pieces bound to one set of weights, which every pass composes (teacher-forced training, the
 * shared-prefix groups of GRPO, KV-cached decoding): the pre-attention norm, a q/k/v projection, the
 * attention output projection with its residual, and the MLP with its residual.
 */
function layerOps(model: Vlm, w: Map<string, Tensor>, l: number, adapters: boolean) {
  const at = (name: string) => `l${l}.${name}`;
  return {
    norm: (x: Tensor) => layerNorm(x, w.get(at("ln1.g"))!, w.get(at("ln1.b"))!),
    project: (h: Tensor, name: "wq" | "wk" | "wv") => linear(model, w, h, at(name), null, adapters),
    attended: (x: Tensor, a: Tensor) => linear(model, w, a, at("wo"), at("bo"), adapters, undefined, x),
    mlp: (x: Tensor) => {
      const h = layerNorm(x, w.get(at("ln2.g"))!, w.get(at("ln2.b"))!);
      const m = linear(model, w, h, at("w1"), at("b1"), adapters, "gelu");
      return linear(model, w, m, at("w2"), at("b2"), adapters, undefined, x);
    },
  };
}

/** Rows [n·s, D] as heads [n, H, s, Dh]. */
function splitHeads(model: Vlm, t: Tensor, n: number, s: number): Tensor {
  const H = model.config.heads;
  return permute(reshape(t, [n, s, H, model.config.dim / H]), [0, 2, 1, 3]);
}

/** Heads [n, H, s, Dh] back as rows [n·s, D]. */
function mergeHeads(model: Vlm, t: Tensor, n: number, s: number): Tensor {
  return reshape(permute(t, [0, 2, 1, 3]), [n * s, model.config.dim]);
}

/**
 * One transformer layer over B sequences of S rows [B·S, D] under the prefix mask. `onKv` receives the
 * layer's keys and values as heads [B, H, S, Dh] (decoding fills its caches from them).
 */
function block(
  model: Vlm,
  w: Map<string, Tensor>,
  x: Tensor,
  l: number,
  B: number,
  S: number,
  prefix: number,
  adapters: boolean,
  onKv?: (k: Tensor, v: Tensor) => void,
): Tensor {
  const op = layerOps(model, w, l, adapters);
  const h = op.norm(x);
  const [q, k, v] = (["wq", "wk", "wv"] as const).map((name) => splitHeads(model, op.project(h, name), B, S));
  onKv?.(k, v);
  return op.mlp(op.attended(x, mergeHeads(model, attention(q, k, v, { prefix }), B, S)));
}

/** The prefix rows [B·(P + 1), D] of images and their task tokens: patch embeddings, task token, positions. */
function prefixRows(model: Vlm, w: Map<string, Tensor>, images: Tensor, tasks: readonly number[]): Tensor {
  const c = model.config, B = images.shape[0], P1 = patchCount(c) + 1;
  const patches = matmul(patchify(images, c.patch), w.get("patch.w")!, { bias: w.get("patch.b") });
  const taskIds = tensorFrom(images.rt, tasks, [B, 1], { dtype: "u32" });
  const x = concatSeq(patches, embedding(w.get("tok")!, taskIds));
  return reshape(add(x, positions(w.get("pos")!, P1)), [B * P1, c.dim]);
}

/** Each row of `t` [B, ...] repeated k times in a row: [B·k, ...]. Differentiable (the gradient sums the copies). */
function repeatRows(t: Tensor, k: number): Tensor {
  const [b, ...rest] = t.shape;
  const width = rest.reduce((a, x) => a * x, 1);
  const ids = tensorFrom(t.rt, Array.from({ length: b * k }, (_, i) => Math.floor(i / k)), [b * k], {
    dtype: "u32",
  });
  return reshape(embedding(reshape(t, [b, width]), ids), [b * k, ...rest]);
}

/**
 * The final hidden states at the text positions of K completions per image, [B·K·T, D] for images
 * [B, 3, side, side], their task tokens (B numbers) and completions `answers` [B·K, T − 1] (u32; the
 * tokens fed after the task token). Equal to {@linkcode encode} of every (image, completion) pair
 * followed by {@linkcode selectRows} of the text rows, but the prefix (patches + task token), which
 * never attends to the answer, goes through the projections and MLPs once per image instead of K
 * times: GRPO's policy and reference passes cost about half as much. Differentiable.
 */
export function encodeGroups(
  model: Vlm,
  images: Tensor,
  tasks: readonly number[],
  answers: Tensor,
  k: number,
  options: ForwardOptions = {},
): Tensor {
  const c = model.config, rt = images.rt;
  const w = options.base ?? model.params;
  const adapters = options.adapters ?? true;
  const B = images.shape[0], P = patchCount(c), P1 = P + 1, BK = B * k, A = answers.shape[1], T = A + 1;
  const D = c.dim, S = P1 + A;
  if (answers.shape.length !== 2 || answers.shape[0] !== BK || T > c.textLength || tasks.length !== B) {
    throw new RangeError(
      `encodeGroups: answers [${answers.shape}] must be [${BK}, < ${c.textLength}], tasks ${B}`,
    );
  }
  let xp = prefixRows(model, w, images, tasks);
  const answerPos = tensorFrom(rt, Array.from({ length: A }, (_, t) => P1 + t), [A], { dtype: "u32" });
  let xa = reshape(add(embedding(w.get("tok")!, answers), embedding(w.get("pos")!, answerPos)), [BK * A, D]);
  const answerRows = Array.from({ length: BK * A }, (_, i) => Math.floor(i / A) * S + P1 + (i % A));
  const heads = (t: Tensor, n: number, s: number) => splitHeads(model, t, n, s);
  for (let l = 0; l < c.layers; l++) {
    const op = layerOps(model, w, l, adapters);
    const hp = op.norm(xp), ha = op.norm(xa);
    const [qp, kp, vp] = (["wq", "wk", "wv"] as const).map((name) => op.project(hp, name));
    const [qa, ka, va] = (["wq", "wk", "wv"] as const).map((name) => op.project(ha, name));
    const ap = attention(heads(qp, B, P1), heads(kp, B, P1), heads(vp, B, P1), { prefix: P1 });
    // Each completion's full sequence: its image's prefix rows (repeated) then its own answer rows.
    const full = (p: Tensor, a: Tensor) =>
      heads(
        reshape(concatSeq(repeatRows(reshape(p, [B, P1, D]), k), reshape(a, [BK, A, D])), [BK * S, D]),
        BK,
        S,
      );
    const aa = attention(full(qp, qa), full(kp, ka), full(vp, va), { prefix: P1 });
    xp = op.mlp(op.attended(xp, mergeHeads(model, ap, B, P1)));
    xa = op.mlp(op.attended(xa, selectRows(mergeHeads(model, aa, BK, S), answerRows)));
  }
  // Text rows per completion: the task token's state (shared by the image's K completions), then its answer.
  const taskState = selectRows(xp, Array.from({ length: B }, (_, b) => b * P1 + P));
  const rows = concatSeq(reshape(repeatRows(taskState, k), [BK, 1, D]), reshape(xa, [BK, A, D]));
  return layerNorm(reshape(rows, [BK * T, D]), w.get("lnf.g")!, w.get("lnf.b")!);
}

/** Next-token logits [B·S, V] of final hidden states [B·S, D]. */
export function lmLogits(model: Vlm, hidden: Tensor, options: ForwardOptions = {}): Tensor {
  return matmul(hidden, (options.base ?? model.params).get("head")!);
}

/**
 * Rows `rows` (flat indices into [B·S]) of hidden states [B·S, D]: e.g. the task token of every
 * sequence (b·S + P), or the text positions. Differentiable (a gather whose gradient scatters back).
 */
export function selectRows(hidden: Tensor, rows: readonly number[]): Tensor {
  const ids = tensorFrom(hidden.rt, rows, [rows.length], { dtype: "u32" });
  return embedding(hidden, ids);
}

/** Flat row indices of the text positions [B, T] of a batch: b·S + P + t. */
export function textRows(model: Vlm, batch: number, length: number): number[] {
  const P = patchCount(model.config), S = P + length;
  return Array.from({ length: batch * length }, (_, i) => Math.floor(i / length) * S + P + (i % length));
}

/** The regression head on features [B, D]: predictions [B, 1] (in standardised label units). */
export function regress(model: Vlm, features: Tensor): Tensor {
  const w = model.regHead.get("reg.w"), b = model.regHead.get("reg.b");
  if (!w || !b) throw new Error("regress: no regression head attached");
  return matmul(features, w, { bias: b });
}

/** Options of {@linkcode generate}. */
export interface GenerateOptions {
  /** Generations per image, K (the images are encoded once and their KV caches repeated). */
  samples: number;
  /** Sampling temperature; 0 takes the argmax. */
  temperature: number;
  /** Seed of the counter-based sampler. */
  seed: number;
  /** A counter unique to this call within the run (e.g. the training step), so draws never repeat. */
  stream: number;
  /** Tokens to generate (at most config.textLength). */
  maxTokens: number;
  /** Use the adapters (default true). */
  adapters?: boolean;
}

/**
 * Samples answers for images [B, 3, side, side] and their task token ids (B numbers): returns
 * [maxTokens, B·K] token ids (read back once at the end; row-major by step), generation k of image b at
 * column b·K + k. Runs without recording; the prefix is encoded once per image and its KV cache repeated
 * K times; each new token then costs one decoding pass against the cache.
 */
export async function generate(
  model: Vlm,
  images: Tensor,
  tasks: readonly number[],
  options: GenerateOptions,
): Promise<Uint32Array> {
  return await images.rt.scope(async () =>
    Uint32Array.from(await (await sampleTokens(model, images, tasks, options)).toArray())
  );
}

/**
 * {@linkcode generate} without the readback: the token ids [maxTokens, B·K] (u32) stay on the GPU, so a
 * caller can queue many batches and read them with one sync.
 */
export async function sampleTokens(
  model: Vlm,
  images: Tensor,
  tasks: readonly number[],
  options: GenerateOptions,
): Promise<Tensor> {
  const c = model.config, rt = images.rt;
  const B = images.shape[0], K = options.samples, BK = B * K, P = patchCount(c), S = sequenceLength(c);
  const H = c.heads, Dh = c.dim / H, D = c.dim, M = options.maxTokens;
  if (M < 1 || M > c.textLength) {
    throw new RangeError(`generate: maxTokens ${M} must be in [1, ${c.textLength}]`);
  }
  return await rt.scope(() => {
    const out = full(rt, [M, BK], 0, "u32");
    noGrad(() => {
      // With adapters, they are folded into the weights for the call: each projection is then one matmul
      // instead of three (a dispatch-bound decode loop runs every projection once per token and layer).
      const w = (options.adapters ?? true) ? foldedWeights(model) : model.params;
      // Prefill: patches + task token, bidirectional, once per image; keep K and V of every layer.
      const prefix = P + 1;
      let x = prefixRows(model, w, images, tasks);
      // Each image's rows repeated K times: gather image b for every (b, k).
      const repeatIds = tensorFrom(rt, Array.from({ length: BK }, (_, i) => Math.floor(i / K)), [BK], {
        dtype: "u32",
      });
      const kCaches: Tensor[] = [], vCaches: Tensor[] = [];
      const toCache = (t: Tensor) => {
        // t: [B, H, prefix, Dh] → cache [BK, H, S, Dh] with rows [0, prefix) filled.
        const repeated = reshape(embedding(reshape(t, [B, H * prefix * Dh]), repeatIds), [
          BK * H,
          prefix,
          Dh,
        ]);
        const cache = full(rt, [BK, H, S, Dh], 0);
        const view = { batch: BK * H, d: Dh, rows: prefix, srcS: prefix, dstS: S, srcStart: 0, dstStart: 0 };
        copyRows(repeated, cache, view);
        return cache;
      };
      for (let l = 0; l < c.layers; l++) {
        x = block(model, w, x, l, B, prefix, prefix, false, (k, v) => {
          kCaches.push(toCache(k));
          vCaches.push(toCache(v));
        });
      }
      // The task token's state predicts the first answer token.
      const lastRows = Array.from({ length: BK }, (_, i) => Math.floor(i / K) * prefix + P);
      let hidden = layerNorm(selectRows(x, lastRows), w.get("lnf.g")!, w.get("lnf.b")!);
      for (let t = 0; t < M; t++) {
        const token = sampleCategorical(
          matmul(hidden, w.get("head")!),
          options.temperature,
          options.seed,
          options.stream * c.textLength + t,
        );
        copyRows(token, out, { batch: 1, d: BK, rows: 1, srcS: 1, dstS: M, srcStart: 0, dstStart: t });
        if (t === M - 1) break;
        // Decode the sampled token at position P + 1 + t against the caches.
        const pos = P + 1 + t;
        const posIds = tensorFrom(rt, new Array(BK).fill(pos), [BK], { dtype: "u32" });
        let y = add(embedding(w.get("tok")!, token), embedding(w.get("pos")!, posIds));
        for (let l = 0; l < c.layers; l++) {
          const op = layerOps(model, w, l, false);
          const h = op.norm(y);
          const q = reshape(op.project(h, "wq"), [BK, H, 1, Dh]);
          const view = { batch: BK * H, d: Dh, rows: 1, srcS: 1, dstS: S, srcStart: 0, dstStart: pos };
          copyRows(reshape(op.project(h, "wk"), [BK * H, 1, Dh]), kCaches[l], view);
          copyRows(reshape(op.project(h, "wv"), [BK * H, 1, Dh]), vCaches[l], view);
          y = op.mlp(op.attended(y, reshape(attentionDecode(q, kCaches[l], vCaches[l], pos + 1), [BK, D])));
        }
        hidden = layerNorm(y, w.get("lnf.g")!, w.get("lnf.b")!);
      }
    });
    return out;
  });
}
