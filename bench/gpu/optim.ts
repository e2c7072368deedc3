/**
 * AdamW with decoupled weight decay (as PyTorch's `torch.optim.AdamW`) and global-norm gradient
 * clipping, both entirely on the GPU: the clip factor is computed into a buffer that the update
 * kernels read, so a training step needs no readback.
 *
 * @module
 */

import { grid } from "./ops/elementwise.ts";
import { f32Bits, type Program, type Runtime, TEXEL_WIDTH } from "./runtime.ts";
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

/** Tensors per multi-tensor dispatch at most: the uniform block holds one vec4 per tensor after a header. */
const MAX_TENSORS_SUMSQ = 15;
const MAX_TENSORS_ADAMW = 14;

/**
 * Partial sums of squares of `count` gradients in one dispatch: workgroup (x, ·, t) sums tensor t's
 * elements x·WG + lane, stepping by slots_t·WG, into P[slot_t + x] (nothing when x ≥ slots_t). Each
 * tensor's partials are exactly those a dispatch of its own with slots_t workgroups would give. The
 * bindings are one per tensor, and WGSL cannot index bindings, so the tensor is chosen by a switch.
 */
function sumsqProgram(count: number): Program {
  const binds = Array.from(
    { length: count },
    (_, t) => `@group(0) @binding(${t + 2}) var<storage, read> G${t}: array<f32>;`,
  );
  const cases = Array.from({ length: count }, (_, t) => `case ${t}u: { g = G${t}[i]; }`);
  return {
    key: `optim:sumsq:${count}`,
    code: () =>
      `struct U { tensors: u32, p0: u32, p1: u32, p2: u32, t: array<vec4<u32>, ${MAX_TENSORS_SUMSQ}> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
${binds.join("\n")}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let info = u.t[wid.z]; // n, slot, slots
  if (wid.x >= info.z) { return; }
  var acc = 0.0;
  for (var i = wid.x * ${WG}u + lid.x; i < info.x; i += info.z * ${WG}u) {
    var g = 0.0;
    switch wid.z { ${cases.join(" ")} default: {} }
    acc += g * g;
  }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { part[lid.x] += part[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { P[info.y + wid.x] = part[0]; }
}`,
  };
}

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

/**
 * AdamW over `count` parameters in one dispatch: workgroup row z updates tensor z (its parameter, gradient
 * and moments are bindings 4z + 2 … 4z + 5), with its own size, learning rate and weight decay; the same
 * arithmetic, in the same order, as one dispatch per tensor.
 */
function adamwProgram(count: number): Program {
  const binds: string[] = [];
  const cases: string[] = [];
  for (let t = 0; t < count; t++) {
    const b = 4 * t + 2;
    binds.push(
      `@group(0) @binding(${b}) var<storage, read_write> P${t}: array<f32>;`,
      `@group(0) @binding(${b + 1}) var<storage, read> G${t}: array<f32>;`,
      `@group(0) @binding(${b + 2}) var<storage, read_write> M${t}: array<f32>;`,
      `@group(0) @binding(${b + 3}) var<storage, read_write> V${t}: array<f32>;`,
    );
    cases.push(`case ${t}u: {
      let r = adamwStep(P${t}[i], G${t}[i], M${t}[i], V${t}[i], info);
      P${t}[i] = r.p; M${t}[i] = r.m; V${t}[i] = r.v;
    }`);
  }
  return {
    key: `optim:adamw:${count}`,
    code: () =>
      `struct U { b1: f32, b2: f32, eps: f32, bc1: f32, bc2: f32, p0: u32, p1: u32, p2: u32, t: array<vec4<u32>, ${MAX_TENSORS_ADAMW}> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> S: array<f32>;
${binds.join("\n")}
struct R { p: f32, m: f32, v: f32 }
// info: n, lr, weight decay (as f32 bits).
fn adamwStep(p0: f32, g0: f32, m0: f32, v0: f32, info: vec4<u32>) -> R {
  let lr = bitcast<f32>(info.y);
  let wd = bitcast<f32>(info.z);
  let g = g0 * S[0];
  var p = p0 * (1.0 - lr * wd);
  let m = u.b1 * m0 + (1.0 - u.b1) * g;
  let v = u.b2 * v0 + (1.0 - u.b2) * g * g;
  p -= lr * (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);
  return R(p, m, v);
}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let info = u.t[gid.z];
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= info.x) { return; }
  switch gid.z { ${cases.join("\n    ")} default: {} }
}`,
  };
}

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
    const starts = slots.map((n) => (slot += n) - n);
    if (rt.gpu.info.fallback) {
      params.forEach((p, k) => {
        if (p.size % 4 === 0) {
          const view = rt.texels(p.grad!.buffer, p.size / 4);
          const chunk = Math.ceil(p.size / 4 / slots[k]);
          rt.dispatch(
            normPartialTextureProgram,
            [view, partials.buffer],
            [slots[k]],
            [p.size, starts[k], chunk, 0],
          );
          rt.releaseTexels(view);
        } else this.#sumsq([k], params, slots, starts, partials);
      });
    } else {
      const per = Math.min(MAX_TENSORS_SUMSQ, this.#bindingsFor(1, 1));
      for (const chunk of chunks(params.map((_, k) => k), per)) {
        this.#sumsq(chunk, params, slots, starts, partials);
      }
    }
    rt.dispatch(clipScaleProgram, [partials.buffer, this.clip.buffer], [1], [
      slot,
      f32Bits(this.maxGradNorm),
      0,
      0,
    ]);
    partials.release();

    const bc1 = 1 - this.beta1 ** this.step, bc2 = 1 - this.beta2 ** this.step;
    const updates = this.groups.flatMap((group) =>
      group.params.filter((p) => p.grad).map((p) => ({ p, lr: group.lr, wd: group.weightDecay }))
    );
    if (rt.gpu.info.fallback) {
      for (const { p, lr, wd } of updates) {
        if (p.size % 4 !== 0) {
          this.#adamw([{ p, lr, wd }], bc1, bc2);
          continue;
        }
        const uu = [p.size, ...[lr, wd, this.beta1, this.beta2, this.eps, bc1, bc2].map(f32Bits)];
        const m = this.#m.get(p)!, v = this.#v.get(p)!;
        const views = [p, p.grad!, m, v].map((t) => rt.texels(t.buffer, p.size / 4));
        rt.dispatch(
          adamwTextureProgram,
          [...views, p.buffer, m.buffer, v.buffer, this.clip.buffer],
          grid(p.size / 4, rt, 64),
          uu,
        );
        views.forEach((t) => rt.releaseTexels(t));
      }
    } else {
      // Several tensors per dispatch (as many as the binding limit allows), in order of size so that the
      // tensors of one dispatch need about the same number of workgroups.
      const bySize = [...updates].sort((a, b) => b.p.size - a.p.size);
      const per = Math.min(MAX_TENSORS_ADAMW, this.#bindingsFor(1, 4));
      for (const chunk of chunks(bySize, per)) this.#adamw(chunk, bc1, bc2);
    }
  }

  /** How many tensors of `each` storage bindings fit a dispatch beside `fixed` others. */
  #bindingsFor(fixed: number, each: number): number {
    return Math.max(1, Math.floor((this.#rt.gpu.limits.maxStorageBuffersPerShaderStage - fixed) / each));
  }

  /** One dispatch of partial sums of squares for the gradients of `params[k]`, k in `which`. */
  #sumsq(which: number[], params: Tensor[], slots: number[], starts: number[], partials: Tensor): void {
    const u = new Array<number>(4 + 4 * MAX_TENSORS_SUMSQ).fill(0);
    u[0] = which.length;
    which.forEach((k, t) => {
      u[4 + 4 * t] = params[k].size;
      u[5 + 4 * t] = starts[k];
      u[6 + 4 * t] = slots[k];
    });
    this.#rt.dispatch(
      sumsqProgram(which.length),
      [partials.buffer, ...which.map((k) => params[k].grad!.buffer)],
      [Math.max(...which.map((k) => slots[k])), 1, which.length],
      u,
    );
  }

  /** One dispatch of AdamW updates for `updates` (each with its group's learning rate and decay). */
  #adamw(updates: { p: Tensor; lr: number; wd: number }[], bc1: number, bc2: number): void {
    const rt = this.#rt;
    // Words 0–4: β1, β2, ε and the bias corrections (f32); then 4 words per tensor: size, lr, decay.
    const u = new Array<number>(8 + 4 * MAX_TENSORS_ADAMW).fill(0);
    [this.beta1, this.beta2, this.eps, bc1, bc2].forEach((x, i) => (u[i] = f32Bits(x)));
    updates.forEach(({ p, lr, wd }, t) => {
      u[8 + 4 * t] = p.size;
      u[9 + 4 * t] = f32Bits(lr);
      u[10 + 4 * t] = f32Bits(wd);
    });
    const [x, y] = grid(Math.max(...updates.map(({ p }) => p.size)), rt);
    rt.dispatch(
      adamwProgram(updates.length),
      [
        this.clip.buffer,
        ...updates.flatMap((
          { p },
        ) => [p.buffer, p.grad!.buffer, this.#m.get(p)!.buffer, this.#v.get(p)!.buffer]),
      ],
      [x, y ?? 1, updates.length],
      u,
    );
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

/** `items` in consecutive groups of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function zerosLike(t: Tensor): Tensor {
  const z = new Tensor(t.rt, t.shape);
  t.rt.write(z.buffer, new Float32Array(Math.ceil(z.bytes / 4)));
  return z;
}
