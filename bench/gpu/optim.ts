/**
 * AdamW with decoupled weight decay (as PyTorch's `torch.optim.AdamW`) and global-norm gradient
 * clipping, both entirely on the GPU: the clip factor is computed into a buffer that the update
 * kernels read, so a training step needs no readback.
 *
 * @module
 */

import { grid } from "./ops/elementwise.ts";
import { type Program, type Runtime, TEXEL_WIDTH } from "./runtime.ts";
import { Tensor } from "./tensor.ts";

/** Hyperparameters of one parameter group. */
export interface AdamWGroup {
  /** The parameters (f32 tensors with `requiresGrad`). */
  params: Tensor[];
  /** Learning rate. */
  lr: number;
  /** Decoupled weight decay (PyTorch's `weight_decay`; default 0.01). */
  weightDecay?: number;
}

/** Optimiser settings shared by all groups. */
export interface AdamWOptions {
  /** β₁ (default 0.9). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** ε (default 1e-8). */
  eps?: number;
  /** Clip the global gradient norm to this value (default: no clipping). */
  maxGradNorm?: number;
}

const WG = 256;

const normPartialProgram: Program = {
  key: "optim:sumsq-partial",
  code: () =>
    `struct U { n: u32, slot: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> P: array<f32>;
var<workgroup> part: array<f32, ${WG}>;
// Each workgroup sums squares over a strided range and writes one partial at P[slot + workgroup].
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var acc = 0.0;
  for (var i = wid.x * ${WG}u + lid.x; i < u.n; i += nwg.x * ${WG}u) { let g = G[i]; acc += g * g; }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { part[lid.x] += part[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { P[u.slot + wid.x] = part[0]; }
}`,
};

/**
 * The software adapter's partial sums of squares: one-thread workgroups, each summing a contiguous chunk of
 * `chunk` texels (4 elements each) read through a texture, no workgroup tree. On llvmpipe a barrier splits
 * the shader and storage-buffer loads are per-thread scalar loops, so the 256-thread tree above cost more
 * than the sum itself for most parameters (2026-11-26).
 */
const normPartialTextureProgram: Program = {
  key: "optim:sumsq-partial-tex",
  code: () =>
    `struct U { n: u32, slot: u32, chunk: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var G: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read_write> P: array<f32>;
@compute @workgroup_size(1)
fn main(@builtin(workgroup_id) wid: vec3u) {
  let t0 = wid.x * u.chunk;
  let t1 = min(t0 + u.chunk, u.n / 4u);
  var acc = vec4<f32>(0.0);
  for (var t = t0; t < t1; t++) {
    let g = textureLoad(G, vec2u(t & ${TEXEL_WIDTH - 1}u, t >> ${Math.log2(TEXEL_WIDTH)}u));
    acc += g * g;
  }
  P[u.slot + wid.x] = dot(acc, vec4<f32>(1.0));
}`,
};

const clipScaleProgram: Program = {
  key: "optim:clip-scale",
  code: () =>
    `struct U { n: u32, maxNorm: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> S: array<f32>;
var<workgroup> part: array<f32, ${WG}>;
// S[0] = clip factor min(1, maxNorm / (norm + 1e-6)) as in torch.nn.utils.clip_grad_norm_; S[1] = norm.
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var acc = 0.0;
  for (var i = lid.x; i < u.n; i += ${WG}u) { acc += P[i]; }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { part[lid.x] += part[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let norm = sqrt(part[0]);
    S[1] = norm;
    S[0] = select(1.0, min(1.0, u.maxNorm / (norm + 1e-6)), u.maxNorm > 0.0);
  }
}`,
};

const adamwProgram: Program = {
  key: "optim:adamw",
  code: () =>
    `struct U { n: u32, lr: f32, wd: f32, b1: f32, b2: f32, eps: f32, bc1: f32, bc2: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> Pm: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;
@group(0) @binding(5) var<storage, read> S: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= u.n) { return; }
  let g = G[i] * S[0];
  var p = Pm[i] * (1.0 - u.lr * u.wd);
  let m = u.b1 * M[i] + (1.0 - u.b1) * g;
  let v = u.b2 * V[i] + (1.0 - u.b2) * g * g;
  M[i] = m;
  V[i] = v;
  p -= u.lr * (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);
  Pm[i] = p;
}`,
};

/**
 * The software adapter's AdamW: 4 elements per thread, the parameter, gradient and moments read through
 * textures (snapshots taken just before the dispatch), written back as vec4s. On llvmpipe a storage-buffer
 * load or store costs about 4 ns per element and a texel load about 1 ns per 4 (2026-11-26).
 */
const adamwTextureProgram: Program = {
  key: "optim:adamw-tex",
  code: () =>
    `struct U { n: u32, lr: f32, wd: f32, b1: f32, b2: f32, eps: f32, bc1: f32, bc2: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var TP: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var TG: texture_storage_2d<rgba32float, read>;
@group(0) @binding(3) var TM: texture_storage_2d<rgba32float, read>;
@group(0) @binding(4) var TV: texture_storage_2d<rgba32float, read>;
@group(0) @binding(5) var<storage, read_write> Pm: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> M: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> V: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> S: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.n / 4u) { return; }
  let c = vec2u(i & ${TEXEL_WIDTH - 1}u, i >> ${Math.log2(TEXEL_WIDTH)}u);
  let g = textureLoad(TG, c) * S[0];
  var p = textureLoad(TP, c) * (1.0 - u.lr * u.wd);
  let m = u.b1 * textureLoad(TM, c) + (1.0 - u.b1) * g;
  let v = u.b2 * textureLoad(TV, c) + (1.0 - u.b2) * g * g;
  M[i] = m;
  V[i] = v;
  p -= u.lr * (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);
  Pm[i] = p;
}`,
};

/** AdamW over parameter groups, with optional global-norm clipping across all of them. */
export class AdamW {
  readonly groups: Required<AdamWGroup>[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly maxGradNorm: number;
  /** Steps taken. */
  step = 0;
  readonly #rt: Runtime;
  readonly #m = new Map<Tensor, Tensor>();
  readonly #v = new Map<Tensor, Tensor>();
  /** [clip factor, global gradient norm] of the last step, on the GPU. */
  readonly clip: Tensor;

  constructor(groups: AdamWGroup[], options: AdamWOptions = {}) {
    if (groups.length === 0 || groups.every((g) => g.params.length === 0)) {
      throw new RangeError("AdamW: no parameters");
    }
    this.#rt = groups.find((g) => g.params.length > 0)!.params[0].rt;
    this.groups = groups.map((g) => ({ params: g.params, lr: g.lr, weightDecay: g.weightDecay ?? 0.01 }));
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.maxGradNorm = options.maxGradNorm ?? 0;
    for (const g of this.groups) {
      for (const p of g.params) {
        if (p.dtype !== "f32") {
          throw new TypeError(`AdamW: parameter ${p.name ?? ""} is ${p.dtype}, expected f32`);
        }
        this.#m.set(p, zerosLike(p));
        this.#v.set(p, zerosLike(p));
      }
    }
    this.clip = new Tensor(this.#rt, [2]);
  }

  /** Records the clip-factor computation and one update of every parameter that has a gradient. */
  update(): void {
    this.step++;
    const rt = this.#rt;
    const params = this.groups.flatMap((g) => g.params.filter((p) => p.grad));
    // Partial sums of squares: a bounded number of workgroups per tensor, then one final reduction.
    const slots = params.map((p) => Math.min(64, Math.ceil(p.size / WG)));
    const partials = new Tensor(rt, [Math.max(1, slots.reduce((a, b) => a + b, 0))]);
    let slot = 0;
    params.forEach((p, k) => {
      if (rt.gpu.info.fallback && p.size % 4 === 0) {
        const view = rt.texels(p.grad!.buffer, p.size / 4);
        const chunk = Math.ceil(p.size / 4 / slots[k]);
        rt.dispatch(
          normPartialTextureProgram,
          [view, partials.buffer],
          [slots[k]],
          new Uint32Array([p.size, slot, chunk, 0]).buffer,
        );
        rt.releaseTexels(view);
      } else {
        rt.dispatch(
          normPartialProgram,
          [p.grad!.buffer, partials.buffer],
          [slots[k]],
          new Uint32Array([p.size, slot, 0, 0]).buffer,
        );
      }
      slot += slots[k];
    });
    const u = new ArrayBuffer(16);
    new Uint32Array(u)[0] = slot;
    new Float32Array(u)[1] = this.maxGradNorm;
    rt.dispatch(clipScaleProgram, [partials.buffer, this.clip.buffer], [1], u);
    partials.release();

    const bc1 = 1 - this.beta1 ** this.step, bc2 = 1 - this.beta2 ** this.step;
    for (const group of this.groups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        const uu = new ArrayBuffer(32);
        new Uint32Array(uu)[0] = p.size;
        new Float32Array(uu).set(
          [group.lr, group.weightDecay, this.beta1, this.beta2, this.eps, bc1, bc2],
          1,
        );
        const m = this.#m.get(p)!, v = this.#v.get(p)!;
        if (rt.gpu.info.fallback && p.size % 4 === 0) {
          const views = [p, p.grad, m, v].map((t) => rt.texels(t.buffer, p.size / 4));
          rt.dispatch(
            adamwTextureProgram,
            [...views, p.buffer, m.buffer, v.buffer, this.clip.buffer],
            grid(p.size / 4, rt, 64),
            uu,
          );
          views.forEach((t) => rt.releaseTexels(t));
          continue;
        }
        rt.dispatch(
          adamwProgram,
          [p.buffer, p.grad.buffer, m.buffer, v.buffer, this.clip.buffer],
          grid(p.size, rt),
          uu,
        );
      }
    }
  }

  /** The first and second moment tensors of a parameter (what a checkpoint saves and restores). */
  moments(p: Tensor): { m: Tensor; v: Tensor } {
    const m = this.#m.get(p), v = this.#v.get(p);
    if (!m || !v) throw new RangeError(`AdamW: ${p.name ?? "tensor"} is not one of its parameters`);
    return { m, v };
  }

  /** Releases every parameter's gradient (call after `update`, before the next backward). */
  zeroGrad(): void {
    for (const g of this.groups) {
      for (const p of g.params) {
        p.grad?.release();
        p.grad = null;
      }
    }
  }

  /** The global gradient norm of the last step (reads back: use for logging every N steps). */
  async lastGradNorm(): Promise<number> {
    return (await this.clip.toArray())[1];
  }
}

function zerosLike(t: Tensor): Tensor {
  const z = new Tensor(t.rt, t.shape);
  t.rt.write(z.buffer, new Float32Array(Math.ceil(z.bytes / 4)));
  return z;
}
