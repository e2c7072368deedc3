/**
 * Shape ops: reshape and permute. Both copy into a fresh buffer (tensors own their buffers, which keeps
 * release simple); the copy is one cheap elementwise pass.
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Program } from "../runtime.ts";
import { numel, Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid, MAX_RANK } from "./elementwise.ts";

const copyProgram: Program = {
  key: "shape:copy",
  code: () =>
    `struct U { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i < u.n) { O[i] = X[i]; }
}`,
};

/** The same elements in a new shape (row-major order unchanged). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== x.size) {
    throw new RangeError(
      `cannot reshape [${x.shape.join(", ")}] (${x.size} elements) to [${shape.join(", ")}]`,
    );
  }
  const out = new Tensor(x.rt, shape, x.dtype);
  x.rt.dispatch(
    copyProgram,
    [x.buffer, out.buffer],
    grid(x.size, x.rt),
    new Uint32Array([x.size, 0, 0, 0]).buffer,
  );
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
  const u = new Uint32Array(4 + 2 * MAX_RANK);
  u[0] = x.size;
  u[1] = rank;
  u.set(shape, 4);
  u.set(perm.map((p) => inStrides[p]), 4 + MAX_RANK);
  const out = new Tensor(x.rt, shape, x.dtype);
  x.rt.dispatch(permuteProgram, [x.buffer, out.buffer], grid(x.size, x.rt), u.buffer);
  const inverse = new Array<number>(rank);
  perm.forEach((p, d) => (inverse[p] = d));
  return record(out, "permute", [x], (g) => [permute(g, inverse)]);
}
