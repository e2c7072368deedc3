/**
 * A tiny pre-LN transformer language model built only from the engine's ops, used to benchmark (and
 * test) one full training step: forward, backward, AdamW. It has the benchmark's mask: a bidirectional
 * prefix (where the image patches will sit) and causal attention after it.
 *
 * @module
 */

import { backward } from "./autograd.ts";
import { attention } from "./ops/attention.ts";
import { crossEntropy } from "./ops/cross_entropy.ts";
import { add } from "./ops/elementwise.ts";
import { embedding } from "./ops/embedding.ts";
import { layerNorm } from "./ops/layernorm.ts";
import { matmul } from "./ops/matmul.ts";
import { permute, reshape } from "./ops/shape.ts";
import { AdamW } from "./optim.ts";
import type { Runtime } from "./runtime.ts";
import { full, type Tensor, tensorFrom } from "./tensor.ts";
import { seededRng } from "../core/rng.ts";

/** Sizes of the tiny model. */
export interface TinyConfig {
  vocab: number;
  dim: number;
  heads: number;
  layers: number;
  seq: number;
  prefix: number;
  batch: number;
}

/** Parameters of one layer. */
interface Layer {
  ln1g: Tensor;
  ln1b: Tensor;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  bo: Tensor;
  ln2g: Tensor;
  ln2b: Tensor;
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

/** A tiny model: parameters, the optimiser, and a step function. */
export interface TinyModel {
  config: TinyConfig;
  params: Tensor[];
  optimizer: AdamW;
  /** Records one training step on fixed data (forward, backward, AdamW) and returns the loss tensor. */
  step(ids: Tensor, targets: Tensor, weights: Tensor): Tensor;
  /** FLOPs of the step's matmuls and attention (forward + backward ≈ 3 × forward). */
  flopsPerStep: number;
}

/** Builds a tiny model with seeded random weights. */
export function tinyModel(rt: Runtime, config: TinyConfig, seed = 0): TinyModel {
  const rng = seededRng(seed);
  const param = (shape: number[], std: number, name: string) =>
    tensorFrom(
      rt,
      Array.from({ length: shape.reduce((a, b) => a * b) }, () => (rng() * 2 - 1) * std * Math.sqrt(3)),
      shape,
      {
        requiresGrad: true,
        name,
      },
    );
  const ones = (n: number, name: string) => Object.assign(full(rt, [n], 1), { requiresGrad: true, name });
  const zeros = (n: number, name: string) => Object.assign(full(rt, [n], 0), { requiresGrad: true, name });
  const { vocab: V, dim: D, heads: H, layers: L, seq: S, batch: B, prefix } = config;
  const std = 0.02;
  const tok = param([V, D], std, "tok"), pos = param([S, D], std, "pos");
  const layers: Layer[] = Array.from({ length: L }, (_, l) => ({
    ln1g: ones(D, `l${l}.ln1g`),
    ln1b: zeros(D, `l${l}.ln1b`),
    wq: param([D, D], std, `l${l}.wq`),
    wk: param([D, D], std, `l${l}.wk`),
    wv: param([D, D], std, `l${l}.wv`),
    wo: param([D, D], std / Math.sqrt(2 * L), `l${l}.wo`),
    bo: zeros(D, `l${l}.bo`),
    ln2g: ones(D, `l${l}.ln2g`),
    ln2b: zeros(D, `l${l}.ln2b`),
    w1: param([D, 4 * D], std, `l${l}.w1`),
    b1: zeros(4 * D, `l${l}.b1`),
    w2: param([4 * D, D], std / Math.sqrt(2 * L), `l${l}.w2`),
    b2: zeros(D, `l${l}.b2`),
  }));
  const lnfg = ones(D, "lnf.g"), lnfb = zeros(D, "lnf.b"), head = param([D, V], std, "head");
  const params = [tok, pos, ...layers.flatMap((l) => Object.values(l)), lnfg, lnfb, head];
  const optimizer = new AdamW([{ params, lr: 1e-3, weightDecay: 0.01 }], { maxGradNorm: 1 });
  const T = B * S, Dh = D / H;
  const heads = (x: Tensor) => permute(reshape(x, [B, S, H, Dh]), [0, 2, 1, 3]);

  const step = (ids: Tensor, targets: Tensor, weights: Tensor): Tensor => {
    let x = add(reshape(embedding(tok, ids), [B, S, D]), pos);
    x = reshape(x, [T, D]);
    for (const l of layers) {
      const h = layerNorm(x, l.ln1g, l.ln1b);
      const a = attention(heads(matmul(h, l.wq)), heads(matmul(h, l.wk)), heads(matmul(h, l.wv)), { prefix });
      const merged = reshape(permute(a, [0, 2, 1, 3]), [T, D]);
      x = add(x, matmul(merged, l.wo, { bias: l.bo }));
      const h2 = layerNorm(x, l.ln2g, l.ln2b);
      x = add(x, matmul(matmul(h2, l.w1, { bias: l.b1, activation: "gelu" }), l.w2, { bias: l.b2 }));
    }
    const logits = matmul(layerNorm(x, lnfg, lnfb), head);
    const loss = crossEntropy(logits, targets, { weights });
    backward(loss, full(rt, [1], 1));
    optimizer.update();
    optimizer.zeroGrad();
    return loss;
  };
  const matmulFlops = 2 * T * (L * (4 * D * D + 8 * D * D) + D * V);
  const attnFlops = 4 * B * H * S * S * Dh * L;
  return { config, params, optimizer, step, flopsPerStep: 3 * (matmulFlops + attnFlops) };
}

/** Seeded token ids, next-token targets and a loss mask that skips the prefix, for benchmarking. */
export function tinyBatch(
  rt: Runtime,
  config: TinyConfig,
  seed = 1,
): { ids: Tensor; targets: Tensor; weights: Tensor } {
  const rng = seededRng(seed);
  const T = config.batch * config.seq;
  const ids = Array.from({ length: T }, () => Math.floor(rng() * config.vocab));
  const targets = ids.map((_, i) => ((i + 1) % config.seq === 0 ? 0 : ids[i + 1]));
  const weights = ids.map((
    _,
    i,
  ) => ((i % config.seq) >= config.prefix && (i + 1) % config.seq !== 0 ? 1 : 0));
  return {
    ids: tensorFrom(rt, ids, [T], { dtype: "u32" }),
    targets: tensorFrom(rt, targets, [T], { dtype: "u32" }),
    weights: tensorFrom(rt, weights, [T]),
  };
}
