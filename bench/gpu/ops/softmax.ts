/**
 * Softmax and log-softmax over the last dimension, with backward.
 *
 * One workgroup per row (any number of rows: the grid spills into y past 65,535) and any row width:
 * each thread keeps an online (max, Σ exp(x − max)) pair over a strided slice of the row, rescaling
 * the sum whenever the max grows, so the row is read once for the statistics and once for the output;
 * the 256 pairs are merged in a workgroup tree. Nothing is exponentiated above the row max, so logits
 * of any magnitude are safe. The backward reads the saved output (softmax: y·(g − Σ g·y); log-softmax:
 * g − exp(y)·Σ g), one workgroup per row again, so the output must not be released before backward.
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Program } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { ROW_INDEX, ROW_PARAMS, rowGrid, rowWorkgroupSize, treeReduce, treeSum } from "./reduce.ts";

/** The lowest finite f32: the running max's start (WGSL constants cannot be infinite). */
const LOWEST = "-3.4028235e38";

/**
 * WGSL module-scope declarations for {@linkcode rowLogSumExp} in a `wg`-thread kernel: the workgroup
 * array of (max, sum) pairs and the function merging two pairs.
 */
export function lseDecl(wg: number): string {
  return `var<workgroup> lse_red: array<vec2f, ${wg}>;
fn lse_merge(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}`;
}

/**
 * WGSL statements (inside a row kernel, in uniform control flow) defining `rowMax` and `rowSum` =
 * Σ exp(x − rowMax) of the row `X[base + j]`, j < `cols`. log-sum-exp = rowMax + log(rowSum).
 */
export function rowLogSumExp(wg: number, X: string, base: string, cols: string): string {
  return `var st = vec2f(${LOWEST}, 0.0);
  for (var j = lid; j < ${cols}; j += ${wg}u) {
    let x = ${X}[${base} + j];
    if (x > st.x) {
      st = vec2f(x, st.y * exp(st.x - x) + 1.0);
    } else {
      st.y += exp(x - st.x);
    }
  }
  lse_red[lid] = st;
  workgroupBarrier();
  ${treeReduce(wg, (s) => `lse_red[lid] = lse_merge(lse_red[lid], lse_red[lid + ${s}u]);`)}
  let rowMax = lse_red[0].x;
  let rowSum = lse_red[0].y;`;
}

const ROW_UNIFORMS = `struct U { rows: u32, cols: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;`;

function forwardProgram(log: boolean, wg: number): Program {
  return {
    key: `softmax:fwd:${log ? "log" : "prob"}:${wg}`,
    code: () =>
      `${ROW_UNIFORMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${lseDecl(wg)}
@compute @workgroup_size(${wg})
fn main(${ROW_PARAMS}) {
  ${ROW_INDEX}
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  ${rowLogSumExp(wg, "X", "base", "u.cols")}
  ${log ? "let logSum = log(rowSum);" : "let inv = 1.0 / rowSum;"}
  for (var j = lid; j < u.cols; j += ${wg}u) {
    ${
        log
          ? "Y[base + j] = (X[base + j] - rowMax) - logSum;"
          : "Y[base + j] = exp(X[base + j] - rowMax) * inv;"
      }
  }
}`,
  };
}

function backwardProgram(log: boolean, wg: number): Program {
  return {
    key: `softmax:bwd:${log ? "log" : "prob"}:${wg}`,
    code: () =>
      `${ROW_UNIFORMS}
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
var<workgroup> red: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${ROW_PARAMS}) {
  ${ROW_INDEX}
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  var acc = 0.0;
  for (var j = lid; j < u.cols; j += ${wg}u) {
    acc += ${log ? "G[base + j]" : "G[base + j] * Y[base + j]"};
  }
  red[lid] = acc;
  workgroupBarrier();
  ${treeSum(wg, "red")}
  let d = red[0];
  for (var j = lid; j < u.cols; j += ${wg}u) {
    ${
        log
          ? "O[base + j] = G[base + j] - exp(Y[base + j]) * d;"
          : "O[base + j] = Y[base + j] * (G[base + j] - d);"
      }
  }
}`,
  };
}

function rowsCols(x: Tensor, op: string): [number, number] {
  if (x.dtype !== "f32") throw new TypeError(`${op}: expected an f32 tensor, got ${x.dtype}`);
  if (x.shape.length === 0) throw new RangeError(`${op}: a rank-0 tensor has no last dimension`);
  const cols = x.shape[x.shape.length - 1];
  return [x.shape.slice(0, -1).reduce((a, b) => a * b, 1), cols];
}

function rowUniforms(rows: number, cols: number): number[] {
  return [rows, cols, 0, 0];
}

function run(x: Tensor, log: boolean): Tensor {
  const op = log ? "logSoftmax" : "softmax";
  const [rows, cols] = rowsCols(x, op);
  const y = new Tensor(x.rt, x.shape);
  x.rt.dispatch(
    forwardProgram(log, rowWorkgroupSize(cols)),
    [x.buffer, y.buffer],
    rowGrid(rows, x.rt),
    rowUniforms(rows, cols),
  );
  return record(y, op, [x], (g) => {
    const dx = new Tensor(x.rt, x.shape);
    x.rt.dispatch(
      backwardProgram(log, rowWorkgroupSize(cols)),
      [y.buffer, g.buffer, dx.buffer],
      rowGrid(rows, x.rt),
      rowUniforms(rows, cols),
    );
    return [dx];
  });
}

/** softmax over the last dimension (max-subtracted). Backward uses the output: keep it until then. */
export function softmax(x: Tensor): Tensor {
  return run(x, false);
}

/** log-softmax over the last dimension: x − max − log Σ exp(x − max). Backward uses the output. */
export function logSoftmax(x: Tensor): Tensor {
  return run(x, true);
}

/** float64 reference: log-softmax of each of `rows` rows of `cols` values. */
export function referenceLogSoftmax(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j] - m);
    const ls = Math.log(s);
    for (let j = 0; j < cols; j++) out[r * cols + j] = x[r * cols + j] - m - ls;
  }
  return out;
}

/** float64 reference: softmax of each of `rows` rows of `cols` values. */
export function referenceSoftmax(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  return referenceLogSoftmax(x, rows, cols).map(Math.exp);
}
