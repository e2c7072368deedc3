/**
 * Elementwise ops with numpy broadcasting: add, sub, mul, scale, GELU, and the reduction of a
 * broadcast gradient back to an input's shape. One WGSL template serves every binary op; the op is a
 * WGSL expression in `a` and `b`.
 *
 * @module
 */

import { record, setAccumulator } from "../autograd.ts";
import { f32Bits, type Program, type Runtime, TEXEL_WIDTH } from "../runtime.ts";
import { numel, Tensor } from "../tensor.ts";

/** Maximum rank the broadcasting kernels handle. */
export const MAX_RANK = 8;
const WG = 256;

/** The broadcast shape of two shapes (numpy rules), or a RangeError naming both. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`shapes [${a.join(", ")}] and [${b.join(", ")}] cannot be broadcast together`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` viewed inside the broadcast shape `out`: 0 along broadcast dimensions. */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = out.length - shape.length + i;
    strides[o] = shape[i] === 1 && out[o] !== 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

/** Workgroup counts covering `n` invocations of 256 threads, split over x and y past 65,535. */
export function grid(n: number, rt: Runtime, perGroup = WG): [number, number] {
  const groups = Math.max(1, Math.ceil(n / perGroup));
  const max = rt.maxWorkgroups;
  return groups <= max ? [groups, 1] : [max, Math.ceil(groups / max)];
}

/** WGSL snippet: the flat invocation index of a 1-D launch spread over a 2-D grid. */
export const FLAT_INDEX = `let i = gid.x + gid.y * nwg.x * ${WG}u;`;

function uniformsOf(n: number, out: readonly number[], ...strides: number[][]): number[] {
  const u = new Array<number>(4 + (1 + strides.length) * MAX_RANK).fill(0);
  u[0] = n;
  u[1] = out.length;
  for (let i = 0; i < out.length; i++) u[4 + i] = out[i];
  strides.forEach((s, k) => {
    for (let i = 0; i < s.length; i++) u[4 + (k + 1) * MAX_RANK + i] = s[i];
  });
  return u;
}

const UNIFORM_DECL = (arrays: string[]) => `
struct U { n: u32, rank: u32, p0: u32, p1: u32, shape: array<vec4<u32>, 2>, ${
  arrays.map((a) => `${a}: array<vec4<u32>, 2>`).join(", ")
} }
@group(0) @binding(0) var<uniform> u: U;`;

/** WGSL expressions of the binary ops, in `a` and `b`. */
export const BINARY_OPS = { add: "a + b", sub: "a - b", mul: "a * b" } as const;
/** A binary op name. */
export type BinaryOp = keyof typeof BINARY_OPS;

function binaryProgram(op: BinaryOp, broadcast: boolean): Program {
  return {
    key: `binary:${op}:${broadcast ? "bcast" : "same"}`,
    code: () =>
      `${UNIFORM_DECL(["sa", "sb"])}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  var ia = i;
  var ib = i;
  ${
        broadcast
          ? `ia = 0u; ib = 0u;
  var rem = i;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let c = rem % u.shape[k / 4u][k % 4u];
    rem = rem / u.shape[k / 4u][k % 4u];
    ia += c * u.sa[k / 4u][k % 4u];
    ib += c * u.sb[k / 4u][k % 4u];
  }`
          : ""
      }
  let a = A[ia];
  let b = B[ib];
  O[i] = ${BINARY_OPS[op]};
}`,
  };
}

function checkF32(...ts: Tensor[]) {
  for (const t of ts) if (t.dtype !== "f32") throw new TypeError(`expected an f32 tensor, got ${t.dtype}`);
}

/**
 * A software-adapter kernel over two same-shape f32 tensors read through textures, 4 elements per thread:
 * `body` sees their texels as `a` and `b` (vec4) and assigns `O[i]`. On llvmpipe a storage-buffer load
 * costs about 4 ns per element and a texel load about 1 ns per 4 (2026-11-26).
 */
export function texturePairProgram(key: string, body: string): Program {
  return {
    key,
    code: () =>
      `struct U { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var A: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var B: texture_storage_2d<rgba32float, read>;
@group(0) @binding(3) var<storage, read_write> O: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.n / 4u) { return; }
  let c = vec2u(i & ${TEXEL_WIDTH - 1}u, i >> ${Math.log2(TEXEL_WIDTH)}u);
  let a = textureLoad(A, c);
  let b = textureLoad(B, c);
  ${body}
}`,
  };
}

/** The software adapter's same-shape binary op (residual adds, gradient accumulation). */
function binaryTextureProgram(op: BinaryOp): Program {
  return texturePairProgram(`binary:${op}:tex`, `O[i] = ${BINARY_OPS[op]};`);
}

const copyTextureProgram: Program = {
  key: "copy-tex",
  code: () =>
    `struct U { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var X: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read_write> O: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < u.n / 4u) { O[i] = textureLoad(X, vec2u(i & ${TEXEL_WIDTH - 1}u, i >> ${
      Math.log2(TEXEL_WIDTH)
    }u)); }
}`,
};

/**
 * On the software adapter, copies an f32 tensor whose size is a multiple of 4 into `out` through a texture
 * (one texel load and one vec4 store per 4 elements, against a scalar load and store per element; see
 * {@linkcode binaryTextureProgram}) and returns true; elsewhere returns false and records nothing.
 */
export function copyViaTexture(x: Tensor, out: Tensor): boolean {
  const rt = x.rt;
  if (!rt.gpu.info.fallback || x.dtype !== "f32" || x.size % 4 !== 0 || x.size === 0) return false;
  const view = rt.texels(x.buffer, x.size / 4);
  rt.dispatch(
    copyTextureProgram,
    [view, out.buffer],
    grid(x.size / 4, rt, 64),
    [x.size, 0, 0, 0],
  );
  rt.releaseTexels(view);
  return true;
}

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  checkF32(a, b);
  const shape = broadcastShape(a.shape, b.shape);
  if (shape.length > MAX_RANK) throw new RangeError(`rank ${shape.length} exceeds ${MAX_RANK}`);
  const out = new Tensor(a.rt, shape);
  const n = numel(shape);
  const same = a.shape.join() === b.shape.join();
  const rt = a.rt;
  if (same && rt.gpu.info.fallback && n % 4 === 0 && n > 0) {
    const views = [a, b].map((t) => rt.texels(t.buffer, n / 4));
    rt.dispatch(
      binaryTextureProgram(op),
      [...views, out.buffer],
      grid(n / 4, rt, 64),
      [n, 0, 0, 0],
    );
    views.forEach((v) => rt.releaseTexels(v));
    return out;
  }
  a.rt.dispatch(
    binaryProgram(op, !same),
    [a.buffer, b.buffer, out.buffer],
    grid(n, a.rt),
    uniformsOf(n, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)),
  );
  return out;
}

/** a + b (broadcasting). */
export function add(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw("add", a, b), "add", [a, b], (g) => {
    // The gradient passes through to one input unchanged (no copy), when that input is not broadcast.
    if (a.requiresGrad && g.shape.join() === a.shape.join()) {
      return [g, b.requiresGrad ? sumTo(g, b.shape) : null];
    }
    if (b.requiresGrad && g.shape.join() === b.shape.join()) {
      return [a.requiresGrad ? sumTo(g, a.shape) : null, g];
    }
    return [a.requiresGrad ? sumTo(g, a.shape) : null, b.requiresGrad ? sumTo(g, b.shape) : null];
  });
}

/** a − b (broadcasting). */
export function sub(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw("sub", a, b), "sub", [a, b], (g) => {
    const gb = sumTo(g, b.shape);
    const neg = scale(gb, -1);
    gb.release();
    return [sumTo(g, a.shape), neg];
  });
}

/** a · b elementwise (broadcasting). */
export function mul(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw("mul", a, b), "mul", [a, b], (g) => {
    const gb = binaryRaw("mul", g, b), ga = binaryRaw("mul", g, a);
    const ra = sumTo(gb, a.shape), rb = sumTo(ga, b.shape);
    gb.release();
    ga.release();
    return [ra, rb];
  });
}

/** WGSL of the unary ops: forward in `x`; backward (dy/dx · g) in `x` and `g`. */
const UNARY = {
  // GELU, tanh approximation (GPT-2); the argument of tanh is clamped where tanh is ±1 in f32 anyway.
  gelu: {
    fwd: "0.5 * x * (1.0 + tanh(clamp(0.7978845608 * (x + 0.044715 * x * x * x), -15.0, 15.0)))",
    bwd: "g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608 * (1.0 + 0.134145 * x * x))",
    pre: "let t = tanh(clamp(0.7978845608 * (x + 0.044715 * x * x * x), -15.0, 15.0));",
  },
  exp: { fwd: "exp(x)", bwd: "g * exp(x)", pre: "" },
  scale: { fwd: "x * s", bwd: "g * s", pre: "" },
  copy: { fwd: "x", bwd: "g", pre: "" },
} as const;

type UnaryOp = keyof typeof UNARY;

function unaryProgram(op: UnaryOp, backward: boolean): Program {
  const f = UNARY[op];
  return {
    key: `unary:${op}:${backward ? "bwd" : "fwd"}`,
    code: () =>
      `struct U { n: u32, s: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
${backward ? "@group(0) @binding(2) var<storage, read> G: array<f32>;" : ""}
@group(0) @binding(${backward ? 3 : 2}) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let x = X[i];
  let s = u.s;
  ${backward ? "let g = G[i];" : ""}
  ${backward ? f.pre : ""}
  O[i] = ${backward ? f.bwd : f.fwd};
}`,
  };
}

function unaryRaw(op: UnaryOp, x: Tensor, s = 1, g?: Tensor): Tensor {
  checkF32(x);
  const out = new Tensor(x.rt, x.shape);
  if (op === "copy" && copyViaTexture(x, out)) return out;
  x.rt.dispatch(
    unaryProgram(op, !!g),
    g ? [x.buffer, g.buffer, out.buffer] : [x.buffer, out.buffer],
    grid(x.size, x.rt),
    [x.size, f32Bits(s), 0, 0],
  );
  return out;
}

/** GELU (tanh approximation). */
export function gelu(x: Tensor): Tensor {
  return record(unaryRaw("gelu", x), "gelu", [x], (g) => [unaryRaw("gelu", x, 1, g)]);
}

/** eˣ. */
export function exp(x: Tensor): Tensor {
  return record(unaryRaw("exp", x), "exp", [x], (g) => [unaryRaw("exp", x, 1, g)]);
}

/** x · s for a constant s. */
export function scale(x: Tensor, s: number): Tensor {
  return record(unaryRaw("scale", x, s), "scale", [x], (g) => [unaryRaw("scale", g, s)]);
}

/** A copy of x (a fresh buffer). */
export function copy(x: Tensor): Tensor {
  return record(unaryRaw("copy", x), "copy", [x], (g) => [unaryRaw("copy", g)]);
}

const sumToProgram: Program = {
  key: "sum-to",
  code: () =>
    `${UNIFORM_DECL(["gs", "kept"])}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
// Output element i sums every element of G whose kept coordinates equal i's; p0 = elements summed.
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  var base = 0u;
  var rem = i;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    if (u.kept[k / 4u][k % 4u] == 1u) {
      let c = rem % u.shape[k / 4u][k % 4u];
      rem = rem / u.shape[k / 4u][k % 4u];
      base += c * u.gs[k / 4u][k % 4u];
    }
  }
  var acc = 0.0;
  for (var r = 0u; r < u.p0; r++) {
    var off = base;
    var q = r;
    for (var d = i32(u.rank) - 1; d >= 0; d--) {
      let k = u32(d);
      if (u.kept[k / 4u][k % 4u] == 0u) {
        let c = q % u.shape[k / 4u][k % 4u];
        q = q / u.shape[k / 4u][k % 4u];
        off += c * u.gs[k / 4u][k % 4u];
      }
    }
    acc += G[off];
  }
  O[i] = acc;
}`,
};

/**
 * Sums `g` over the dimensions along which `shape` was broadcast, giving a tensor of `shape` (the
 * backward of broadcasting). Returns a copy when nothing was broadcast.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join() === shape.join()) return unaryRaw("copy", g);
  const rank = g.shape.length;
  const aligned = [...new Array(rank - shape.length).fill(1), ...shape];
  const kept = aligned.map((d, i) => (d === g.shape[i] ? 1 : 0));
  if (aligned.some((d, i) => d !== 1 && d !== g.shape[i])) {
    throw new RangeError(`cannot sum [${g.shape.join(", ")}] down to [${shape.join(", ")}]`);
  }
  const out = new Tensor(g.rt, shape);
  const gStrides = broadcastStrides(g.shape, g.shape);
  const reduced = g.shape.reduce((p, d, i) => (kept[i] ? p : p * d), 1);
  const u = uniformsOf(out.size, g.shape, gStrides, kept);
  u[2] = reduced;
  g.rt.dispatch(sumToProgram, [g.buffer, out.buffer], grid(out.size, g.rt), u);
  return out;
}

setAccumulator((a, b) => binaryRaw("add", a, b));
