/**
 * Reductions: `sum` and `mean` over every element (a scalar `[1]`) or over the last dimension, with
 * backward. Also the WGSL building blocks the row-wise ops (softmax, cross-entropy, layer norm) share:
 * the one-workgroup-per-row launch and an unrolled workgroup tree reduction.
 *
 * Design: one segmented kernel does every reduction. The input is viewed as `rows × m`; each row is
 * split into `segs` segments, one workgroup per segment, and every thread first accumulates a strided
 * slice of its segment in f32 (coalesced: neighbouring threads read neighbouring elements), then the
 * workgroup combines the 256 partial sums in an unrolled tree. When `segs > 1` the `rows × segs`
 * partials are reduced again by the same kernel. The number of segments is chosen so a launch has at
 * most about {@linkcode MAX_GROUPS} workgroups and each thread reads at least 4 elements, so a total
 * of any size takes two passes (4M elements: 1024 workgroups of 16 elements per thread, then one
 * workgroup over the 1024 partials) and a last-dim sum over ≥ 1024 rows takes one (one workgroup per
 * row). The mean's 1/n is applied in the last pass.
 *
 * @module
 */

import { record } from "../autograd.ts";
import { f32Bits, type Program, type Runtime } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid } from "./elementwise.ts";

/** Most threads per workgroup of the row kernels (FLAT_INDEX assumes 256 for the elementwise ones). */
export const ROW_WG = 256;

/** Workgroups a reduction launch aims to stay under (about one wave on a large GPU). */
export const MAX_GROUPS = 1024;

/**
 * Threads per workgroup for rows of `cols` elements: the next power of two ≥ cols, between 32 and
 * {@linkcode ROW_WG}, so narrow rows (attention over short sequences, tiny tests) do not idle 256
 * threads. Each size is its own pipeline.
 */
export function rowWorkgroupSize(cols: number): number {
  let wg = 32;
  while (wg < cols && wg < ROW_WG) wg *= 2;
  return wg;
}

/** WGSL parameters of a row kernel's `main`: workgroup id and count, and the thread's index in it. */
export const ROW_PARAMS =
  "@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32";

/** WGSL: the workgroup's flat index in a launch from {@linkcode rowGrid} (uniform across the workgroup). */
export const ROW_INDEX = "let row = wid.x + wid.y * nwg.x;";

/** Workgroup counts for one workgroup per row, split over x and y past 65,535 rows. */
export function rowGrid(rows: number, rt: Runtime): [number, number] {
  return grid(rows, rt, 1);
}

/**
 * WGSL: an unrolled tree reduction over a workgroup array of `wg` entries (a power of two). `step(s)`
 * is the statement run by threads `lid < s` to fold entry `lid + s` into entry `lid`. Every step ends
 * with a barrier, so afterwards entry 0 holds the result and every thread may read it. The caller
 * writes its own entry and calls `workgroupBarrier()` before this.
 */
export function treeReduce(wg: number, step: (s: number) => string): string {
  const lines: string[] = [];
  for (let s = wg / 2; s >= 1; s /= 2) {
    lines.push(`if (lid < ${s}u) { ${step(s)} }`, "workgroupBarrier();");
  }
  return lines.join("\n  ");
}

/** {@linkcode treeReduce} for a plain sum over workgroup array `arr` (f32 or vecN<f32>). */
export function treeSum(wg: number, arr: string): string {
  return treeReduce(wg, (s) => `${arr}[lid] = ${arr}[lid] + ${arr}[lid + ${s}u];`);
}

function reduceProgram(wg: number): Program {
  return {
    key: `reduce:sum-seg:${wg}`,
    code: () =>
      `struct U { rows: u32, m: u32, segs: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
var<workgroup> red: array<f32, ${wg}>;
// Workgroup w reduces segment (w % segs) of row (w / segs) of the rows × m input into O[w].
@compute @workgroup_size(${wg})
fn main(${ROW_PARAMS}) {
  ${ROW_INDEX}
  if (row >= u.rows * u.segs) { return; }
  let base = (row / u.segs) * u.m;
  let stride = u.segs * ${wg}u;
  var acc = 0.0;
  for (var j = (row % u.segs) * ${wg}u + lid; j < u.m; j += stride) {
    acc += X[base + j];
  }
  red[lid] = acc;
  workgroupBarrier();
  ${treeSum(wg, "red")}
  if (lid == 0u) { O[row] = red[0] * u.scale; }
}`,
  };
}

/**
 * Sums each of the `rows` contiguous rows of `m` f32 values at the start of `src`, times `scale`, into
 * a new tensor of `outShape` (which must hold `rows` elements). Not recorded for autograd: the
 * building block of {@linkcode sum}, {@linkcode mean} and the ops that reduce internally.
 */
export function reduceRowsRaw(
  rt: Runtime,
  src: GPUBuffer,
  rows: number,
  m: number,
  scale = 1,
  outShape: readonly number[] = [rows],
): Tensor {
  let buffer = src, len = m;
  let partial: Tensor | null = null;
  for (;;) {
    const wg = rowWorkgroupSize(len);
    const segs = Math.max(1, Math.min(Math.ceil(len / (wg * 4)), Math.floor(MAX_GROUPS / Math.max(rows, 1))));
    const last = segs === 1;
    const out = last ? new Tensor(rt, outShape) : new Tensor(rt, [rows * segs]);
    rt.dispatch(
      reduceProgram(wg),
      [buffer, out.buffer],
      rowGrid(rows * segs, rt),
      [rows, len, segs, f32Bits(last ? scale : 1)],
    );
    // Safe to pool now: a later reuse is recorded after this dispatch.
    partial?.release();
    if (last) return out;
    partial = out;
    buffer = out.buffer;
    len = segs;
  }
}

const expandProgram: Program = {
  key: "reduce:expand",
  code: () =>
    `struct U { n: u32, cols: u32, scale: f32, p0: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  O[i] = G[i / u.cols] * u.scale;
}`,
};

/** A tensor of `shape` whose element i is g[i / cols] · scale (the backward of a row reduction). */
export function expandRowsRaw(g: Tensor, shape: readonly number[], cols: number, scale: number): Tensor {
  const out = new Tensor(g.rt, shape);
  g.rt.dispatch(expandProgram, [g.buffer, out.buffer], grid(out.size, g.rt), [
    out.size,
    cols,
    f32Bits(scale),
    0,
  ]);
  return out;
}

/** Options of {@linkcode sum} and {@linkcode mean}. */
export interface ReduceOptions {
  /** `-1`: reduce the last dimension; omitted: reduce every element. */
  axis?: -1;
  /** Keep the reduced dimension(s) as size 1 (default false). */
  keepDim?: boolean;
}

function reduce(op: "sum" | "mean", x: Tensor, options: ReduceOptions): Tensor {
  if (x.dtype !== "f32") throw new TypeError(`${op}: expected an f32 tensor, got ${x.dtype}`);
  const { axis, keepDim = false } = options;
  if (axis !== undefined && axis !== -1) throw new RangeError(`${op}: axis must be -1 or omitted`);
  let rows: number, cols: number, shape: number[];
  if (axis === undefined) {
    rows = 1;
    cols = x.size;
    shape = keepDim && x.shape.length > 0 ? x.shape.map(() => 1) : [1];
  } else {
    if (x.shape.length === 0) throw new RangeError(`${op}: a rank-0 tensor has no last dimension`);
    cols = x.shape[x.shape.length - 1];
    const lead = x.shape.slice(0, -1);
    rows = lead.reduce((a, b) => a * b, 1);
    shape = keepDim ? [...lead, 1] : lead.length > 0 ? lead : [1];
  }
  const scale = op === "mean" ? 1 / cols : 1;
  const out = reduceRowsRaw(x.rt, x.buffer, rows, cols, scale, shape);
  return record(out, op, [x], (g) => [expandRowsRaw(g, x.shape, cols, scale)]);
}

/**
 * Σ x over every element (shape `[1]`, or all ones of x's rank with `keepDim`) or over the last
 * dimension (`axis: -1`; the last dimension is dropped, or kept as 1 with `keepDim`; a 1-D input gives
 * `[1]`). f32 accumulation per thread, then a workgroup tree.
 */
export function sum(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce("sum", x, options);
}

/** The mean of x, over every element or the last dimension; shapes as {@linkcode sum}. Empty: NaN. */
export function mean(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce("mean", x, options);
}

/** float64 reference: the sum of each of `rows` contiguous rows of `cols` values (rows = 1: the total). */
export function referenceSum(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[r * cols + j];
    out[r] = s;
  }
  return out;
}

/** float64 reference: the mean of each of `rows` contiguous rows of `cols` values. */
export function referenceMean(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  return referenceSum(x, rows, cols).map((s) => s / cols);
}
