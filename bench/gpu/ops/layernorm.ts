/**
 * Layer normalisation over the last dimension, y = (x − μ)·rstd·γ + β with rstd = 1/√(σ² + ε), and its
 * backward to x, γ and β.
 *
 * Forward: one workgroup per row; the mean and then the variance (two passes over the row, Σ(x − μ)²,
 * which does not cancel like E[x²] − μ²) are workgroup tree sums, and the row's μ and rstd are saved
 * (`[2, rows]`) for the backward.
 *
 * Backward: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·γ, one workgroup per row (both means in one
 * tree of vec2). dγ = Σ_rows g·x̂ and dβ = Σ_rows g are column sums over all rows, done in two kernels:
 * each thread of the first sums one column over a chunk of ⌈√rows⌉ rows (neighbouring threads read
 * neighbouring columns), the second sums the chunk partials per column. Both loops are about √rows long,
 * so thousands (or millions) of rows stay parallel and accurate in f32.
 *
 * @module
 */

import { record } from "../autograd.ts";
import { f32Bits, type Program, TEXEL_WIDTH } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid } from "./elementwise.ts";
import { ROW_INDEX, ROW_PARAMS, rowGrid, rowWorkgroupSize, treeSum } from "./reduce.ts";

const ROW_UNIFORMS = `struct U { rows: u32, cols: u32, eps: f32, p0: u32 }
@group(0) @binding(0) var<uniform> u: U;`;

function forwardProgram(wg: number): Program {
  return {
    key: `layernorm:fwd:${wg}`,
    code: () =>
      `${ROW_UNIFORMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Gm: array<f32>;
@group(0) @binding(3) var<storage, read> Bt: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<storage, read_write> ST: array<f32>;
var<workgroup> red: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${ROW_PARAMS}) {
  ${ROW_INDEX}
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  let n = f32(u.cols);
  var a = 0.0;
  for (var j = lid; j < u.cols; j += ${wg}u) { a += X[base + j]; }
  red[lid] = a;
  workgroupBarrier();
  ${treeSum(wg, "red")}
  let mu = red[0] / n;
  workgroupBarrier(); // everyone has read red[0] before it is reused
  var q = 0.0;
  for (var j = lid; j < u.cols; j += ${wg}u) {
    let d = X[base + j] - mu;
    q += d * d;
  }
  red[lid] = q;
  workgroupBarrier();
  ${treeSum(wg, "red")}
  let rstd = 1.0 / sqrt(red[0] / n + u.eps);
  for (var j = lid; j < u.cols; j += ${wg}u) {
    Y[base + j] = (X[base + j] - mu) * rstd * Gm[j] + Bt[j];
  }
  if (lid == 0u) {
    ST[row] = mu;
    ST[u.rows + row] = rstd;
  }
}`,
  };
}

function backwardXProgram(wg: number): Program {
  return {
    key: `layernorm:bwd-x:${wg}`,
    code: () =>
      `${ROW_UNIFORMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Gm: array<f32>;
@group(0) @binding(3) var<storage, read> ST: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
var<workgroup> red: array<vec2f, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${ROW_PARAMS}) {
  ${ROW_INDEX}
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  let mu = ST[row];
  let rstd = ST[u.rows + row];
  var acc = vec2f(0.0, 0.0);
  for (var j = lid; j < u.cols; j += ${wg}u) {
    let gh = G[base + j] * Gm[j];
    acc += vec2f(gh, gh * (X[base + j] - mu) * rstd);
  }
  red[lid] = acc;
  workgroupBarrier();
  ${treeSum(wg, "red")}
  let m = red[0] / f32(u.cols);
  for (var j = lid; j < u.cols; j += ${wg}u) {
    let gh = G[base + j] * Gm[j];
    let xh = (X[base + j] - mu) * rstd;
    O[base + j] = rstd * (gh - m.x - xh * m.y);
  }
}`,
  };
}

/** Rows per workgroup of the texture row kernels (one thread per row, no barriers). */
const TEX_WG = 64;

const texHead = (names: string[]) =>
  names.map((n, i) =>
    `@group(0) @binding(${i + 1}) var T${n}: texture_storage_2d<rgba32float, read>;
fn ld${n}(t: u32) -> vec4<f32> { return textureLoad(T${n}, vec2u(t & ${TEXEL_WIDTH - 1}u, t >> ${
      Math.log2(TEXEL_WIDTH)
    }u)); }`
  ).join("\n");

/**
 * Software-adapter forward: one thread per row, x, γ and β read as texels (cols % 4 == 0). Same two-pass
 * mean and variance as {@linkcode forwardProgram}, without workgroup trees: on llvmpipe every barrier
 * splits the shader and every workgroup-memory or storage-buffer load is a per-thread scalar loop, while
 * texel loads are gathers (see `Runtime.texels`).
 */
const forwardTextureProgram: Program = {
  key: "layernorm:fwd-tex",
  code: () =>
    `${ROW_UNIFORMS}
${texHead(["X", "Gm", "Bt"])}
@group(0) @binding(4) var<storage, read_write> Y: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> ST: array<f32>;
@compute @workgroup_size(${TEX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * ${TEX_WG}u;
  if (row >= u.rows) { return; }
  let c4 = u.cols / 4u;
  let base = row * c4;
  let n = f32(u.cols);
  var a = vec4<f32>(0.0);
  for (var j = 0u; j < c4; j++) { a += ldX(base + j); }
  let mu = dot(a, vec4<f32>(1.0)) / n;
  var q = vec4<f32>(0.0);
  for (var j = 0u; j < c4; j++) {
    let d = ldX(base + j) - mu;
    q += d * d;
  }
  let rstd = 1.0 / sqrt(dot(q, vec4<f32>(1.0)) / n + u.eps);
  for (var j = 0u; j < c4; j++) {
    Y[base + j] = (ldX(base + j) - mu) * rstd * ldGm(j) + ldBt(j);
  }
  ST[row] = mu;
  ST[u.rows + row] = rstd;
}`,
};

/** Software-adapter backward to x: one thread per row, x, γ and g read as texels (see the forward). */
const backwardXTextureProgram: Program = {
  key: "layernorm:bwd-x-tex",
  code: () =>
    `${ROW_UNIFORMS}
${texHead(["X", "Gm", "G"])}
@group(0) @binding(4) var<storage, read> ST: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<vec4<f32>>;
@compute @workgroup_size(${TEX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * ${TEX_WG}u;
  if (row >= u.rows) { return; }
  let c4 = u.cols / 4u;
  let base = row * c4;
  let mu = ST[row];
  let rstd = ST[u.rows + row];
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var j = 0u; j < c4; j++) {
    let gh = ldG(base + j) * ldGm(j);
    s1 += gh;
    s2 += gh * (ldX(base + j) - mu) * rstd;
  }
  let n = f32(u.cols);
  let m1 = dot(s1, vec4<f32>(1.0)) / n;
  let m2 = dot(s2, vec4<f32>(1.0)) / n;
  for (var j = 0u; j < c4; j++) {
    let gh = ldG(base + j) * ldGm(j);
    let xh = (ldX(base + j) - mu) * rstd;
    O[base + j] = rstd * (gh - m1 - xh * m2);
  }
}`,
};

const paramPartialsProgram: Program = {
  key: "layernorm:bwd-param-partials",
  code: () =>
    `struct U { rows: u32, cols: u32, chunk: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> ST: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> P: array<f32>;
// Thread (c, j): Σ g·x̂ and Σ g of column j over rows [c·chunk, (c+1)·chunk), into P[0][c][j], P[1][c][j].
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.chunks * u.cols) { return; }
  let c = i / u.cols;
  let j = i - c * u.cols;
  let r1 = min(c * u.chunk + u.chunk, u.rows);
  var pg = 0.0;
  var pb = 0.0;
  for (var r = c * u.chunk; r < r1; r++) {
    let k = r * u.cols + j;
    let g = G[k];
    pg += g * (X[k] - ST[r]) * ST[u.rows + r];
    pb += g;
  }
  P[i] = pg;
  P[u.chunks * u.cols + i] = pb;
}`,
};

const paramSumProgram: Program = {
  key: "layernorm:bwd-param-sum",
  code: () =>
    `struct U { rows: u32, cols: u32, chunk: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> DG: array<f32>;
@group(0) @binding(3) var<storage, read_write> DB: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= 2u * u.cols) { return; }
  let which = i / u.cols;
  let j = i - which * u.cols;
  var acc = 0.0;
  for (var c = 0u; c < u.chunks; c++) { acc += P[(which * u.chunks + c) * u.cols + j]; }
  if (which == 0u) { DG[j] = acc; } else { DB[j] = acc; }
}`,
};

/**
 * Layer norm of `x [..., D]` over its last dimension with scale `gamma [D]` and shift `beta [D]`.
 * Backward gives dx, dγ and dβ (each only where wanted).
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  for (const [name, t] of [["x", x], ["gamma", gamma], ["beta", beta]] as const) {
    if (t.dtype !== "f32") throw new TypeError(`layerNorm: ${name} must be f32, got ${t.dtype}`);
  }
  if (x.shape.length === 0) throw new RangeError("layerNorm: x needs a last dimension");
  const cols = x.shape[x.shape.length - 1];
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (gamma.size !== cols || beta.size !== cols) {
    throw new RangeError(
      `layerNorm: gamma [${gamma.shape}] and beta [${beta.shape}] must have ${cols} elements`,
    );
  }
  const rt = x.rt;
  const wg = rowWorkgroupSize(cols);
  const u = [rows, cols, f32Bits(eps), 0];
  const y = new Tensor(rt, x.shape);
  const stats = new Tensor(rt, [2, rows]);
  // The software adapter takes the barrier-free texture kernels (rows of whole texels only).
  const texture = rt.gpu.info.fallback && cols % 4 === 0;
  /** Dispatches a texture kernel: `reads` become textures (in order), then `writes` as buffers. */
  const viaTextures = (program: Program, reads: Tensor[], writes: GPUBuffer[]) => {
    const views = reads.map((t) => rt.texels(t.buffer, t.size / 4));
    rt.dispatch(program, [...views, ...writes], grid(rows, rt, TEX_WG), u);
    views.forEach((v) => rt.releaseTexels(v));
  };
  if (texture) viaTextures(forwardTextureProgram, [x, gamma, beta], [y.buffer, stats.buffer]);
  else {
    rt.dispatch(
      forwardProgram(wg),
      [x.buffer, gamma.buffer, beta.buffer, y.buffer, stats.buffer],
      rowGrid(rows, rt),
      u,
    );
  }
  record(y, "layerNorm", [x, gamma, beta], (g) => {
    let dx: Tensor | null = null, dg: Tensor | null = null, db: Tensor | null = null;
    if (x.requiresGrad) {
      dx = new Tensor(rt, x.shape);
      if (texture) viaTextures(backwardXTextureProgram, [x, gamma, g], [stats.buffer, dx.buffer]);
      else {
        rt.dispatch(
          backwardXProgram(wg),
          [x.buffer, gamma.buffer, stats.buffer, g.buffer, dx.buffer],
          rowGrid(rows, rt),
          u,
        );
      }
    }
    if (gamma.requiresGrad || beta.requiresGrad) {
      const chunk = Math.max(1, Math.ceil(Math.sqrt(rows)));
      const chunks = Math.ceil(rows / chunk);
      const pu = [rows, cols, chunk, chunks];
      const partials = new Tensor(rt, [2, chunks, cols]);
      rt.dispatch(
        paramPartialsProgram,
        [x.buffer, stats.buffer, g.buffer, partials.buffer],
        grid(chunks * cols, rt),
        pu,
      );
      const sums = [new Tensor(rt, gamma.shape), new Tensor(rt, beta.shape)];
      rt.dispatch(paramSumProgram, [partials.buffer, sums[0].buffer, sums[1].buffer], grid(2 * cols, rt), pu);
      partials.release();
      [dg, db] = [gamma, beta].map((p, k) => {
        if (p.requiresGrad) return sums[k];
        sums[k].release();
        return null;
      });
    }
    stats.release();
    return [dx, dg, db];
  });
  if (!y.node) stats.release();
  return y;
}

/** float64 reference of {@linkcode layerNorm} for `rows × cols` values. */
export function referenceLayerNorm(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  rows: number,
  cols: number,
  eps = 1e-5,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mu = 0;
    for (let j = 0; j < cols; j++) mu += x[r * cols + j];
    mu /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[r * cols + j] - mu) ** 2;
    const rstd = 1 / Math.sqrt(v / cols + eps);
    for (let j = 0; j < cols; j++) out[r * cols + j] = (x[r * cols + j] - mu) * rstd * gamma[j] + beta[j];
  }
  return out;
}
