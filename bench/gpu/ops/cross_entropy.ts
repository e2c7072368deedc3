/**
 * Fused log-softmax + token cross-entropy (the SFT loss) and the per-token log-probability gather
 * (what GRPO needs), with backward to the logits.
 *
 * Forward: one workgroup per row of logits computes the row max and Σ exp(x − max) online (see
 * softmax.ts), then one thread gathers the target's logit. Neither softmax nor log-softmax is
 * materialised; only per-row statistics are kept: for `crossEntropy` a `[4, T]` buffer (weighted loss,
 * effective weight, row max, log Σ exp) whose first two rows are summed by the reduction kernel, and
 * for `tokenLogProbs` a `[2, T]` buffer (row max, log Σ exp). A one-thread kernel divides the loss sum
 * by the normaliser on the GPU, so nothing is read back.
 *
 * Backward: one elementwise kernel over `[T, V]` recomputes p = exp(x − max − log Σ) from the saved
 * statistics and writes coef_t · (p − onehot(target_t)), with coef_t = g · w_t / normaliser for the
 * loss and −g_t for the log-probabilities.
 *
 * Masking: a target outside [0, V) — including a negative i32 ignore index such as −100, read as a
 * large u32 — is never used as an index. Its row counts as weight 0: no loss, no share of the mean's
 * normaliser, a zero gradient row, and `tokenLogProbs` gives 0 there.
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Program, Runtime } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid } from "./elementwise.ts";
import { reduceRowsRaw, ROW_INDEX, ROW_PARAMS, rowGrid, rowWorkgroupSize } from "./reduce.ts";
import { lseDecl, rowLogSumExp } from "./softmax.ts";

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions {
  /** Per-token f32 weights `[T]` (0 = masked, e.g. prompt or padding tokens); default all 1. */
  weights?: Tensor;
  /**
   * `"mean"` (default): Σ_t w_t·CE_t / Σ_t w_t over rows with valid targets (0 when that is 0, e.g.
   * everything masked); `"sum"`: Σ_t w_t·CE_t.
   */
  reduction?: "sum" | "mean";
}

const ROW_UNIFORMS = `struct U { rows: u32, cols: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;`;

function forwardProgram(kind: "ce" | "ce-weighted" | "logprobs", wg: number): Program {
  const weighted = kind === "ce-weighted";
  return {
    key: `cross-entropy:fwd:${kind}:${wg}`,
    code: () =>
      `${ROW_UNIFORMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<u32>;
${
        kind === "logprobs"
          ? `@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;`
          : `${weighted ? "@group(0) @binding(3) var<storage, read> W: array<f32>;" : ""}
@group(0) @binding(${weighted ? 4 : 3}) var<storage, read_write> A: array<f32>;`
      }
${lseDecl(wg)}
@compute @workgroup_size(${wg})
fn main(${ROW_PARAMS}) {
  ${ROW_INDEX}
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  ${rowLogSumExp(wg, "X", "base", "u.cols")}
  if (lid != 0u) { return; }
  let logSum = log(rowSum);
  let t = T[row];
  ${
        kind === "logprobs"
          ? `var lp = 0.0;
  if (t < u.cols) { lp = (X[base + t] - rowMax) - logSum; }
  O[row] = lp;
  S[row] = rowMax;
  S[u.rows + row] = logSum;`
          : `var w = 0.0;
  var loss = 0.0;
  if (t < u.cols) {
    w = ${weighted ? "W[row]" : "1.0"};
    if (w != 0.0) { loss = w * (logSum - (X[base + t] - rowMax)); }
  }
  A[row] = loss;
  A[u.rows + row] = w;
  A[2u * u.rows + row] = rowMax;
  A[3u * u.rows + row] = logSum;`
      }
}`,
  };
}

/** WGSL: the mean's normaliser from the weight sum (1 for "sum", and where every weight is 0). */
const NORMALISER = `fn normaliser(wsum: f32) -> f32 {
  return select(1.0, wsum, u.mean == 1u && wsum != 0.0);
}`;

const finishProgram: Program = {
  key: "cross-entropy:finish",
  code: () =>
    `struct U { mean: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
${NORMALISER}
@compute @workgroup_size(1)
fn main() {
  O[0] = S[0] / normaliser(S[1]);
}`,
};

function backwardProgram(kind: "ce" | "logprobs"): Program {
  const ce = kind === "ce";
  return {
    key: `cross-entropy:bwd:${kind}`,
    code: () =>
      `struct U { n: u32, rows: u32, cols: u32, mean: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<u32>;
@group(0) @binding(3) var<storage, read> A: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
${ce ? "@group(0) @binding(5) var<storage, read> S: array<f32>;" : ""}
@group(0) @binding(${ce ? 6 : 5}) var<storage, read_write> O: array<f32>;
${ce ? NORMALISER : ""}
// A holds, per row: ${ce ? "loss, weight, max, log Σ exp" : "max, log Σ exp"}.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let row = i / u.cols;
  let t = T[row];
  var d = 0.0;
  if (t < u.cols) {
    let coef = ${ce ? "G[0] * A[u.rows + row] / normaliser(S[1])" : "-G[row]"};
    let p = exp((X[i] - A[${ce ? "2u" : "0u"} * u.rows + row]) - A[${ce ? "3u" : "1u"} * u.rows + row]);
    d = coef * (p - select(0.0, 1.0, i - row * u.cols == t));
  }
  O[i] = d;
}`,
  };
}

function checkInputs(op: string, logits: Tensor, targets: Tensor, weights?: Tensor): [number, number] {
  if (logits.dtype !== "f32") throw new TypeError(`${op}: logits must be f32, got ${logits.dtype}`);
  if (logits.shape.length === 0) throw new RangeError(`${op}: logits need a vocabulary dimension`);
  const cols = logits.shape[logits.shape.length - 1];
  const rows = logits.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (targets.dtype !== "u32" && targets.dtype !== "i32") {
    throw new TypeError(`${op}: targets must be u32 (or i32), got ${targets.dtype}`);
  }
  if (targets.size !== rows) {
    throw new RangeError(`${op}: ${targets.size} targets for ${rows} rows of logits [${logits.shape}]`);
  }
  if (weights && (weights.dtype !== "f32" || weights.size !== rows)) {
    throw new RangeError(
      `${op}: weights must be f32 with one per row (${rows}), got ${weights.dtype} [${weights.shape}]`,
    );
  }
  return [rows, cols];
}

function rowUniforms(rows: number, cols: number): number[] {
  return [rows, cols, 0, 0];
}

function dispatchBackward(
  rt: Runtime,
  kind: "ce" | "logprobs",
  logits: Tensor,
  targets: Tensor,
  stats: Tensor,
  g: Tensor,
  sums: Tensor | null,
  mean: boolean,
): Tensor {
  const [rows, cols] = [targets.size, logits.shape[logits.shape.length - 1]];
  const dx = new Tensor(rt, logits.shape);
  const buffers = [logits.buffer, targets.buffer, stats.buffer, g.buffer];
  if (sums) buffers.push(sums.buffer);
  buffers.push(dx.buffer);
  rt.dispatch(
    backwardProgram(kind),
    buffers,
    grid(dx.size, rt),
    [dx.size, rows, cols, mean ? 1 : 0],
  );
  return dx;
}

/**
 * Token cross-entropy of `logits [..., V]` against `targets [...]` (u32, or i32 with negative = ignore),
 * fused with the log-softmax: a scalar `[1]`, Σ_t w_t·(logsumexp(x_t) − x_t[target_t]) divided by
 * Σ_t w_t (`"mean"`, default) or not (`"sum"`). Targets outside [0, V) are masked (weight 0).
 * Backward flows to the logits only: w_t·(softmax(x_t) − onehot(target_t))·g / normaliser.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { weights, reduction = "mean" } = options;
  if (reduction !== "mean" && reduction !== "sum") {
    throw new RangeError(`crossEntropy: reduction ${reduction}`);
  }
  const [rows, cols] = checkInputs("crossEntropy", logits, targets, weights);
  const rt = logits.rt;
  const mean = reduction === "mean";
  const stats = new Tensor(rt, [4, rows]);
  const wg = rowWorkgroupSize(cols);
  rt.dispatch(
    forwardProgram(weights ? "ce-weighted" : "ce", wg),
    weights
      ? [logits.buffer, targets.buffer, weights.buffer, stats.buffer]
      : [logits.buffer, targets.buffer, stats.buffer],
    rowGrid(rows, rt),
    rowUniforms(rows, cols),
  );
  // [Σ w·CE, Σ w] from the first two rows of the statistics.
  const sums = reduceRowsRaw(rt, stats.buffer, 2, rows);
  const loss = new Tensor(rt, [1]);
  rt.dispatch(
    finishProgram,
    [sums.buffer, loss.buffer],
    [1],
    [mean ? 1 : 0, 0, 0, 0],
  );
  record(loss, "crossEntropy", [logits], (g) => {
    const dx = dispatchBackward(rt, "ce", logits, targets, stats, g, sums, mean);
    stats.release();
    sums.release();
    return [dx];
  });
  if (!loss.node) {
    stats.release();
    sums.release();
  }
  return loss;
}

/**
 * Per-token log-probabilities `[...]`: log_softmax(logits)[t, tokens_t] for `logits [..., V]` and
 * `tokens [...]` (u32), without materialising the log-softmax. Tokens outside [0, V) give 0 (and no
 * gradient). Backward to the logits: g_t·(onehot(token_t) − softmax(x_t)).
 */
export function tokenLogProbs(logits: Tensor, tokens: Tensor): Tensor {
  const [rows, cols] = checkInputs("tokenLogProbs", logits, tokens);
  const rt = logits.rt;
  const out = new Tensor(rt, logits.shape.length > 1 ? logits.shape.slice(0, -1) : [1]);
  const stats = new Tensor(rt, [2, rows]);
  rt.dispatch(
    forwardProgram("logprobs", rowWorkgroupSize(cols)),
    [logits.buffer, tokens.buffer, out.buffer, stats.buffer],
    rowGrid(rows, rt),
    rowUniforms(rows, cols),
  );
  record(out, "tokenLogProbs", [logits], (g) => {
    const dx = dispatchBackward(rt, "logprobs", logits, tokens, stats, g, null, false);
    stats.release();
    return [dx];
  });
  if (!out.node) stats.release();
  return out;
}

function rowLogSumExpRef(x: ArrayLike<number>, base: number, cols: number): [number, number] {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x[base + j]);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[base + j] - m);
  return [m, Math.log(s)];
}

/**
 * float64 reference of {@linkcode crossEntropy} for `rows × cols` logits: a one-element array. Targets
 * outside [0, cols) are masked, as on the GPU.
 */
export function referenceCrossEntropy(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  rows: number,
  cols: number,
  options: { weights?: ArrayLike<number>; reduction?: "sum" | "mean" } = {},
): Float64Array {
  let total = 0, wsum = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (!(Number.isInteger(t) && t >= 0 && t < cols)) continue;
    const w = options.weights ? options.weights[r] : 1;
    wsum += w;
    if (w === 0) continue;
    const [m, ls] = rowLogSumExpRef(logits, r * cols, cols);
    total += w * (ls - (logits[r * cols + t] - m));
  }
  const mean = (options.reduction ?? "mean") === "mean";
  return Float64Array.of(mean && wsum !== 0 ? total / wsum : total);
}

/** float64 reference of {@linkcode tokenLogProbs} for `rows × cols` logits (0 where a token is out of range). */
export function referenceTokenLogProbs(
  logits: ArrayLike<number>,
  tokens: ArrayLike<number>,
  rows: number,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const t = tokens[r];
    if (!(Number.isInteger(t) && t >= 0 && t < cols)) continue;
    const [m, ls] = rowLogSumExpRef(logits, r * cols, cols);
    out[r] = logits[r * cols + t] - m - ls;
  }
  return out;
}
