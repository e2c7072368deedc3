/**
 * Shape ops: reshape, a view of the same buffer (tensors share it, and the pool gets it back when the last
 * one is released), and permute, which copies into a fresh buffer in one elementwise pass.
 *
 * @module
 */

import { record } from "../autograd.ts";
import { type Program, TEXEL_WIDTH } from "../runtime.ts";
import { numel, Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid, MAX_RANK } from "./elementwise.ts";

/** The same elements in a new shape (row-major order unchanged): a view sharing `x`'s buffer. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== x.size) {
    throw new RangeError(
      `cannot reshape [${x.shape.join(", ")}] (${x.size} elements) to [${shape.join(", ")}]`,
    );
  }
  // Contiguous row-major data: the same buffer, another shape (no dispatch).
  const out = new Tensor(x.rt, shape, x.dtype, x);
  return record(out, "reshape", [x], (g) => [reshape(g, x.shape)]);
}

const permuteProgram: Program = {
  key: "shape:permute",
  code: () =>
    `struct U { n: u32, rank: u32, p0: u32, p1: u32, shape: array<vec4<u32>, 2>, src: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
// Output element i (in the permuted shape) reads X at Σ coord[d] · src[d], src = the input stride of the
// input dimension that output dimension d comes from.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  var rem = i;
  var j = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let c = rem % u.shape[k / 4u][k % 4u];
    rem = rem / u.shape[k / 4u][k % 4u];
    j += c * u.src[k / 4u][k % 4u];
  }
  O[i] = X[j];
}`,
};

/**
 * Software-adapter permute (f32, last output dimension a multiple of 4): each thread writes 4 consecutive
 * outputs as one vec4 and reads the input through a texture (one texel when the 4 sources are one aligned
 * texel, as in the attention head split/merge, else 4). On llvmpipe a storage-buffer load or store costs
 * about 4 ns per element and a texel load about 1 ns (2026-11-26), against one scalar load and store per
 * element in {@linkcode permuteProgram}.
 */
const permuteTextureProgram: Program = {
  key: "shape:permute-tex",
  code: () =>
    `struct U { n: u32, rank: u32, p0: u32, p1: u32, shape: array<vec4<u32>, 2>, src: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var X: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read_write> O: array<vec4<f32>>;
fn ld(t: u32) -> vec4<f32> { return textureLoad(X, vec2u(t & ${TEXEL_WIDTH - 1}u, t >> ${
      Math.log2(TEXEL_WIDTH)
    }u)); }
fn at(j: u32) -> f32 { return ld(j / 4u)[j & 3u]; }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = gid.x + gid.y * nwg.x * 64u;
  if (q >= u.n / 4u) { return; }
  var rem = q * 4u;
  var j = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let c = rem % u.shape[k / 4u][k % 4u];
    rem = rem / u.shape[k / 4u][k % 4u];
    j += c * u.src[k / 4u][k % 4u];
  }
  let last = u.rank - 1u;
  let sl = u.src[last / 4u][last % 4u];
  if (sl == 1u && (j & 3u) == 0u) {
    O[q] = ld(j / 4u);
  } else {
    O[q] = vec4<f32>(at(j), at(j + sl), at(j + 2u * sl), at(j + 3u * sl));
  }
}`,
};

/** Dimensions reordered: output dimension d is input dimension `perm[d]` (like numpy's transpose). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const rank = x.shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new RangeError(`permute: [${perm.join(", ")}] is not a permutation of ${rank} dimensions`);
  }
  if (rank > MAX_RANK) throw new RangeError(`rank ${rank} exceeds ${MAX_RANK}`);
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= x.shape[d];
  }
  const shape = perm.map((p) => x.shape[p]);
  const u = new Array<number>(4 + 2 * MAX_RANK).fill(0);
  u[0] = x.size;
  u[1] = rank;
  for (let d = 0; d < rank; d++) {
    u[4 + d] = shape[d];
    u[4 + MAX_RANK + d] = inStrides[perm[d]];
  }
  const out = new Tensor(x.rt, shape, x.dtype);
  const rt = x.rt;
  if (rt.gpu.info.fallback && x.dtype === "f32" && rank > 0 && shape[rank - 1] % 4 === 0 && x.size > 0) {
    const view = rt.texels(x.buffer, x.size / 4);
    rt.dispatch(permuteTextureProgram, [view, out.buffer], grid(x.size / 4, rt, 64), u);
    rt.releaseTexels(view);
  } else {
    rt.dispatch(permuteProgram, [x.buffer, out.buffer], grid(x.size, rt), u);
  }
  const inverse = new Array<number>(rank);
  perm.forEach((p, d) => (inverse[p] = d));
  return record(out, "permute", [x], (g) => [permute(g, inverse)]);
}
