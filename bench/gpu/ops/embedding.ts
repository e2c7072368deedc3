/**
 * Embedding lookup: rows of a table [V, D] gathered by token ids, with a deterministic backward.
 *
 * Forward: one invocation per output element. Ids are GPU data that the CPU never sees, so an id
 * outside [0, V) (including a negative i32 id, whose bits read as a u32 ≥ 2³¹) cannot raise an error:
 * it yields a zero row and receives no gradient. Validate ids where they are made, on the CPU.
 *
 * Backward: the gradient of row v is the sum of the output-gradient rows of the tokens with id v, a
 * scatter-add. Float atomics are not portable WebGPU (and their order, hence the rounding, changes from
 * run to run), so it is done as a counting sort of token positions by id, then a gather:
 *
 *  1. count: one 64-thread workgroup per vocabulary row v counts the tokens with id v (V·T id reads,
 *     spread over 64 threads each);
 *  2. scan: one workgroup turns the counts into offsets (exclusive prefix sum, O(V));
 *  3. fill: one workgroup per v writes the positions of its tokens, in increasing order, to
 *     perm[offset[v] …] (2·V·T id reads; each thread owns a contiguous run of tokens, and one workgroup
 *     prefix sum of the threads' hit counts keeps the order);
 *  4. gather: one invocation per (v, d) sums grad[perm[k], d] over its k, in increasing token order
 *     (T·D reads in all, coalesced along d).
 *
 * Cost O(V·T + T·D) work and four dispatches, against V·D·T for the naive loop over tokens per output
 * element; every sum is taken in increasing token order, so the result is bit-reproducible and the
 * same on every device with IEEE f32 adds. For a large vocabulary (V·T ≫ T·D) steps 1 and 3 dominate;
 * a radix sort of the ids would then be the next step.
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Program, Runtime } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid } from "./elementwise.ts";

const WG = 256;
/** Threads per vocabulary row in the count and fill kernels. */
const ROW_WG = 64;

const UNIFORMS = `struct U { n: u32, v: u32, d: u32, t: u32 }
@group(0) @binding(0) var<uniform> u: U;`;

const forwardProgram: Program = {
  key: "embedding:fwd",
  code: () =>
    `${UNIFORMS}
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let id = ids[i / u.d];
  var x = 0.0;
  if (id < u.v) { x = table[id * u.d + i % u.d]; }
  O[i] = x;
}`,
};

const ROW_HEAD = `@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.v) { return; }`;

const countProgram: Program = {
  key: "embedding:count",
  code: () =>
    `${UNIFORMS}
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
var<workgroup> red: array<u32, ${ROW_WG}>;
${ROW_HEAD}
  var c = 0u;
  for (var t = lid; t < u.t; t += ${ROW_WG}u) { c += select(0u, 1u, ids[t] == row); }
  red[lid] = c;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { counts[row] = red[0]; }
}`,
};

const scanProgram: Program = {
  key: "embedding:scan",
  code: () =>
    `${UNIFORMS}
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
var<workgroup> part: array<u32, ${WG}>;
// offsets[v] = Σ counts[< v], offsets[V] = T. Thread k scans the chunk [k·c, (k+1)·c).
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let c = (u.v + ${WG - 1}u) / ${WG}u;
  let lo = min(lid * c, u.v);
  let hi = min(lo + c, u.v);
  var s = 0u;
  for (var k = lo; k < hi; k++) { s += counts[k]; }
  part[lid] = s;
  workgroupBarrier();
  if (lid == 0u) {
    var acc = 0u;
    for (var k = 0u; k < ${WG}u; k++) {
      let x = part[k];
      part[k] = acc;
      acc += x;
    }
    offsets[u.v] = acc;
  }
  workgroupBarrier();
  var acc = part[lid];
  for (var k = lo; k < hi; k++) {
    offsets[k] = acc;
    acc += counts[k];
  }
}`,
};

const fillProgram: Program = {
  key: "embedding:fill",
  code: () =>
    `${UNIFORMS}
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> perm: array<u32>;
var<workgroup> scan: array<u32, ${ROW_WG}>;
${ROW_HEAD}
  // Thread lid owns the tokens [lid·c, (lid+1)·c): it counts its hits, an exclusive prefix sum over the
  // threads gives where its hits go, and a second pass writes them, so positions stay in token order.
  // One scan per row (not one per 64 tokens) keeps the barriers few: they are what costs on llvmpipe.
  let c = (u.t + ${ROW_WG - 1}u) / ${ROW_WG}u;
  let lo = min(lid * c, u.t);
  let hi = min(lo + c, u.t);
  var hits = 0u;
  for (var t = lo; t < hi; t++) { hits += select(0u, 1u, ids[t] == row); }
  scan[lid] = hits;
  workgroupBarrier();
  // Inclusive prefix sum of the hit counts (Hillis–Steele).
  for (var s = 1u; s < ${ROW_WG}u; s <<= 1u) {
    var x = 0u;
    if (lid >= s) { x = scan[lid - s]; }
    workgroupBarrier();
    scan[lid] += x;
    workgroupBarrier();
  }
  var next = offsets[row] + scan[lid] - hits;
  for (var t = lo; t < hi; t++) {
    if (ids[t] == row) {
      perm[next] = t;
      next++;
    }
  }
}`,
};

const gatherProgram: Program = {
  key: "embedding:gather",
  code: () =>
    `${UNIFORMS}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> perm: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let v = i / u.d;
  let col = i % u.d;
  var acc = 0.0;
  for (var k = offsets[v]; k < offsets[v + 1u]; k++) { acc += G[perm[k] * u.d + col]; }
  O[i] = acc;
}`,
};

function uniforms(n: number, v: number, d: number, t: number): number[] {
  return [n, v, d, t];
}

/**
 * The deterministic scatter-add behind the embedding backward: out[v, :] = Σ grad[t, :] over the
 * tokens t with ids[t] = v (in increasing t), for a [T, D] gradient; ids outside [0, V) are skipped.
 */
export function embeddingBackward(grad: Tensor, ids: Tensor, vocab: number): Tensor {
  const rt: Runtime = grad.rt;
  const t = ids.size, d = grad.shape.at(-1) ?? 1;
  const out = new Tensor(rt, [vocab, d]);
  const counts = new Tensor(rt, [vocab], "u32");
  const offsets = new Tensor(rt, [vocab + 1], "u32");
  const perm = new Tensor(rt, [Math.max(1, t)], "u32");
  const u = uniforms(vocab * d, vocab, d, t);
  rt.dispatch(countProgram, [ids.buffer, counts.buffer], grid(vocab, rt, 1), u);
  rt.dispatch(scanProgram, [counts.buffer, offsets.buffer], [1], u);
  rt.dispatch(fillProgram, [ids.buffer, offsets.buffer, perm.buffer], grid(vocab, rt, 1), u);
  rt.dispatch(
    gatherProgram,
    [grad.buffer, offsets.buffer, perm.buffer, out.buffer],
    grid(vocab * d, rt),
    u,
  );
  // Safe while the dispatches are pending: the pool only hands them to later commands.
  counts.release();
  offsets.release();
  perm.release();
  return out;
}

/**
 * Looks up rows of `table` [V, D] (f32) for `ids` (u32 or i32, any shape [...]): [..., D]. Ids outside
 * [0, V) give zero rows and no gradient (they cannot be checked without reading the GPU). The gradient
 * flows to the table only, deterministically (see the module notes).
 */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (table.dtype !== "f32") throw new TypeError(`embedding: table must be f32, got ${table.dtype}`);
  if (table.shape.length !== 2) {
    throw new RangeError(`embedding: table must be [V, D], got [${table.shape.join(", ")}]`);
  }
  if (ids.dtype !== "u32" && ids.dtype !== "i32") {
    throw new TypeError(`embedding: ids must be u32 or i32, got ${ids.dtype}`);
  }
  const [vocab, d] = table.shape;
  const rt = table.rt;
  const out = new Tensor(rt, [...ids.shape, d]);
  rt.dispatch(
    forwardProgram,
    [table.buffer, ids.buffer, out.buffer],
    grid(out.size, rt),
    uniforms(out.size, vocab, d, ids.size),
  );
  return record(out, "embedding", [table, ids], (g) => [embeddingBackward(g, ids, vocab), null]);
}

/** float64 CPU reference of {@linkcode embedding}: ids outside [0, V) give zero rows. */
export function embeddingReference(
  table: ArrayLike<number>,
  vocab: number,
  dim: number,
  ids: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(ids.length * dim);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) continue;
    for (let k = 0; k < dim; k++) out[t * dim + k] = table[id * dim + k];
  }
  return out;
}
