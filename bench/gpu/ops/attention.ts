/**
 * Fused scaled-dot-product attention with the VLM's mask: the first `prefix` positions (image patches
 * and task token) attend to each other bidirectionally, and every later position attends causally
 * (to the whole prefix and to the answer tokens up to itself). Query i may attend to key j iff
 * (i < prefix and j < prefix) or j ≤ i, which is one contiguous range: j < max(i + 1, prefix). Every
 * query sees at least key 0, so no row of the softmax is empty.
 *
 * Forward: one 64-thread workgroup per (batch·head, query). The keys are taken in chunks of 64, one per
 * thread: each thread computes a score (a dot product over Dh), the workgroup takes the chunk's max
 * and Σ exp, and the running output (each thread owns ⌈Dh/64⌉ dimensions, in registers) is rescaled as
 * the max grows (online softmax, as in FlashAttention). The row's log-sum-exp is saved for backward.
 * Nothing is exponentiated above the running max, so large scores are safe. The output is written
 * once; there is no S×S matrix in memory.
 *
 * Backward (FlashAttention-2's equations, with P = exp(s − lse) recomputed, never stored):
 * dV_j = Σ_i P_ij dO_i, dP_ij = dO_i·V_j, D_i = dO_i·O_i, dS_ij = P_ij (dP_ij − D_i),
 * dQ_i = scale Σ_j dS_ij K_j, dK_j = scale Σ_i dS_ij Q_i. Two kernels, no atomics: one workgroup per
 * query writes dQ_i (and D_i), then one workgroup per key writes dK_j and dV_j, looping over the
 * queries that see it (all of them for a prefix key, i ≥ j otherwise). Each sum is taken in a fixed
 * order, so results are reproducible. The backward reads the forward output O, so it must not be
 * released before backward.
 *
 * Tiled kernels (Dh ≤ 128, when the workgroup memory allows): forward and both backward passes also
 * come in a FlashAttention-style form, where one workgroup owns a block of rows (queries, or keys for
 * dK/dV), keeps their slices and accumulators in registers, and stages the other side's rows in
 * workgroup memory, shared by the whole block; blocks the mask excludes entirely are skipped. See
 * {@linkcode forwardTiledProgram}. Same equations, same saved log-sum-exp; the per-row kernels below
 * remain for larger Dh, small workgroup memory, and decoding. On an H200 (B16 H8 S320 Dh64) the tiled
 * forward took 0.39 ms against 3.37 ms for the per-row one.
 *
 * @module
 */

import { gradEnabled, record } from "../autograd.ts";
import { f32Bits, type Program, type Runtime, TEXEL_WIDTH } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { grid } from "./elementwise.ts";

/** Threads per workgroup, and keys (or queries) per chunk. */
const WG = 64;
/** The largest head dimension the kernels take (⌈Dh/64⌉ ≤ 4 dimensions per thread). */
export const MAX_HEAD_DIM = 256;
const LOWEST = "-3.4028235e38";

/** Options of {@linkcode attention}. */
export interface AttentionOptions {
  /** The first `prefix` positions attend to each other bidirectionally (0 = purely causal). */
  prefix: number;
  /** Score scale; default 1/√Dh. */
  scale?: number;
}

const UNIFORMS =
  `struct U { groups: u32, sq: u32, skv: u32, dh: u32, prefix: u32, scale: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;`;

const PARAMS = `@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32`;

/** Workgroup reductions (call in uniform control flow; each ends with a barrier). */
const REDUCE = `var<workgroup> red: array<f32, ${WG}>;
fn wgMax(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wgSum(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/** `dpt` copies of a statement, one per dimension slot r owned by this thread (d = lid + r·WG). */
function perDim(dpt: number, body: (r: number) => string): string {
  return Array.from({ length: dpt }, (_, r) => `{ let d = lid + ${r * WG}u; if (d < u.dh) { ${body(r)} } }`)
    .join("\n  ");
}

function accDecl(name: string, dpt: number): string {
  return Array.from({ length: dpt }, (_, r) => `var ${name}${r} = 0.0;`).join(" ");
}

/** WGSL: dot product of a workgroup row `sh` with the global row `G[base …]`. */
const dot = (sh: string, g: string, base: string) =>
  `var acc = 0.0; for (var d = 0u; d < u.dh; d++) { acc += ${sh}[d] * ${g}[${base} + d]; }`;

function forwardProgram(dpt: number, saveLse: boolean): Program {
  return {
    key: `attention:fwd:${dpt}:${saveLse ? "lse" : "nolse"}`,
    code: () =>
      `${UNIFORMS}
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
${saveLse ? "@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;" : ""}
var<workgroup> qs: array<f32, ${dpt * WG}>;
var<workgroup> ps: array<f32, ${WG}>;
${REDUCE}
fn score(kRow: u32) -> f32 {
  ${dot("qs", "K", "kRow")}
  return acc * u.scale;
}
// Workgroup w = (bh, i): query i of head bh, over keys j < max(i + 1, prefix) of K/V rows bh·skv + j.
@compute @workgroup_size(${WG})
fn main(${PARAMS}) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= u.groups) { return; }
  let bh = w / u.sq;
  let i = w % u.sq;
  let kv0 = bh * u.skv;
  for (var d = lid; d < u.dh; d += ${WG}u) { qs[d] = Q[w * u.dh + d]; }
  workgroupBarrier();
  let nk = max(i + 1u, u.prefix);
  var m = ${LOWEST};
  var l = 0.0;
  ${accDecl("o", dpt)}
  for (var c = 0u; c < nk; c += ${WG}u) {
    let j = c + lid;
    var s = ${LOWEST};
    if (j < nk) { s = score((kv0 + j) * u.dh); }
    let mNew = max(m, wgMax(lid, s));
    let alpha = exp(m - mNew);
    var p = 0.0;
    if (j < nk) { p = exp(s - mNew); }
    ps[lid] = p;
    l = l * alpha + wgSum(lid, p);
    let cnt = min(${WG}u, nk - c);
    ${
        perDim(dpt, (r) =>
          `var a = o${r} * alpha;
      for (var t = 0u; t < cnt; t++) { a += ps[t] * V[(kv0 + c + t) * u.dh + d]; }
      o${r} = a;`)
      }
    workgroupBarrier();
    m = mNew;
  }
  let inv = 1.0 / l;
  ${perDim(dpt, (r) => `O[w * u.dh + d] = o${r} * inv;`)}
  ${saveLse ? "if (lid == 0u) { LSE[w] = m + log(l); }" : ""}
}`,
  };
}

/** Tuning knobs of the tiled forward (exported for benchmarks; `tiled: false` forces the per-query kernel). */
export const attentionTuning = {
  tiled: true,
  queriesPerBlock: 128,
  threadsPerQuery: 2,
  maxKeysPerBlock: 16,
  /** Unroll the key loops: "auto" does on real GPUs, not on software adapters (llvmpipe compiles them slowly). */
  unrollKeys: "auto" as boolean | "auto",
  /**
   * The barrier-free texture kernels, forward and backward: "auto" on software adapters only (see
   * `useTexture`); true forces them where Dh allows, false never.
   */
  texture: "auto" as boolean | "auto",
};

/** The tiled forward's shape for head dimension `dh`, or null where it does not apply. */
interface Tile {
  bq: number;
  t: number;
  bk: number;
  /** Padded head dimension: a multiple of 4·t, so each thread owns r = dp / (4t) vec4 slots. */
  dp: number;
  /** Unroll the loops over a block's keys (fast on real GPUs, very slow to compile on llvmpipe). */
  unroll: boolean;
}

/** `body(kk)` for kk = 0 … bk − 1: unrolled (kk a constant) or as a loop (kk a variable). */
function each(tile: Tile, body: (kk: string) => string): string {
  if (!tile.unroll) return `for (var kk = 0u; kk < ${tile.bk}u; kk++) {\n      ${body("kk")}\n    }`;
  return Array.from({ length: tile.bk }, (_, kk) => `{\n      ${body(`${kk}u`)}\n    }`).join("\n    ");
}

/** The largest head dimension the tiled forward takes (larger ones use the per-query kernel). */
export const MAX_TILED_HEAD_DIM = 128;

function tileFor(dh: number, storageLimit: number | undefined, fallback: boolean): Tile | null {
  const { tiled, queriesPerBlock: bq, threadsPerQuery: t, maxKeysPerBlock } = attentionTuning;
  if (!tiled || dh > MAX_TILED_HEAD_DIM) return null;
  const dp = Math.ceil(dh / (4 * t)) * 4 * t;
  const limit = storageLimit ?? 16384;
  for (let bk = maxKeysPerBlock; bk >= 8; bk /= 2) {
    if (2 * bk * dp * 4 + bq * bk * t * 4 <= limit) return { bq, t, bk, dp, unroll: unrollFor(fallback) };
  }
  return null;
}

/**
 * Tiled forward (FlashAttention-style): one workgroup of bq·t threads per (batch·head, block of bq
 * queries). Each query's row is split over t threads, each holding dp/(4t) vec4 slots of the (scaled)
 * query and of the output accumulator in registers (slot r·t + p of thread p, so the t threads of a
 * query read adjacent vec4s). Keys are taken in blocks of bk, their K and V rows staged in workgroup
 * memory and shared by all queries of the block; each thread writes its partial dot products, the t
 * partials of a score are summed after a barrier, and the online softmax runs per query as in the
 * per-query kernel. Key blocks past max(last query + 1, prefix) are skipped: no query of the block sees
 * them.
 */
function forwardTiledProgram(dh: number, tile: Tile, saveLse: boolean): Program {
  const { bq, t, bk, dp } = tile;
  const nt = bq * t, r = dp / (4 * t), dp4 = dp / 4;
  const vec = dh % 4 === 0;
  const dh4 = dh / 4;
  const arr = vec ? "array<vec4<f32>>" : "array<f32>";
  const rs = Array.from({ length: r }, (_, x) => x);
  // The vec4 slot index (within a padded row of dp4) of slot x of this thread.
  const slot = (x: number) => `${x * t}u + p`;
  const loadQ = (x: number) =>
    vec
      ? `select(vec4<f32>(0.0), Q[qrow + min(${slot(x)}, ${dh4 - 1}u)], ${slot(x)} < ${dh4}u)`
      : `vec4<f32>(${[0, 1, 2, 3].map((c) => `ldq(qrow, (${slot(x)}) * 4u + ${c}u)`).join(", ")})`;
  const store = (x: number) =>
    vec
      ? `if (${slot(x)} < ${dh4}u) { O[qrow + ${slot(x)}] = o${x} * inv; }`
      : `for (var c = 0u; c < 4u; c++) { let d = (${
        slot(x)
      }) * 4u + c; if (d < ${dh}u) { O[qrow + d] = o${x}[c] * inv; } }`;
  const partIdx = (kk: string) => `(qi * ${bk}u + ${kk}) * ${t}u`;
  const score = (kk: string) =>
    Array.from({ length: t }, (_, c) => `part[${partIdx(kk)} + ${c}u]`).join(" + ");
  return {
    key: `attention:fwd-tiled:${dh}:${bq}:${t}:${bk}:${tile.unroll ? "u" : "l"}:${saveLse ? "lse" : "nolse"}`,
    code: () =>
      `${UNIFORMS}
@group(0) @binding(1) var<storage, read> Q: ${arr};
@group(0) @binding(2) var<storage, read> K: ${arr};
@group(0) @binding(3) var<storage, read> V: ${arr};
@group(0) @binding(4) var<storage, read_write> O: ${arr};
${saveLse ? "@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;" : ""}
var<workgroup> ks: array<vec4<f32>, ${bk * dp4}>;
var<workgroup> vs: array<vec4<f32>, ${bk * dp4}>;
var<workgroup> part: array<f32, ${bq * bk * t}>;
${vec ? "" : `fn ldq(base: u32, d: u32) -> f32 { if (d < ${dh}u) { return Q[base + d]; } return 0.0; }`}
// Workgroup w = (bh, block of queries q0 …): keys j < max(i + 1, prefix) of K/V rows bh·skv + j.
@compute @workgroup_size(${nt})
fn main(${PARAMS}) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= u.groups) { return; }
  let nqb = (u.sq + ${bq - 1}u) / ${bq}u;
  let bh = w / nqb;
  let qb0 = (w % nqb) * ${bq}u;
  let qi = lid / ${t}u;
  let p = lid % ${t}u;
  let i = qb0 + qi;
  let valid = i < u.sq;
  let kv0 = bh * u.skv;
  let qrow = (bh * u.sq + min(i, u.sq - 1u)) * ${vec ? dh4 : dh}u;
  ${rs.map((x) => `let qv${x} = ${loadQ(x)} * u.scale;`).join("\n  ")}
  ${rs.map((x) => `var o${x} = vec4<f32>(0.0);`).join(" ")}
  let nk = max(i + 1u, u.prefix);
  let nkMax = max(min(qb0 + ${bq}u, u.sq), u.prefix);
  var m = ${LOWEST};
  var l = 0.0;
  for (var k0 = 0u; k0 < nkMax; k0 += ${bk}u) {
    ${
        vec
          ? `for (var e = lid; e < ${bk * dp4}u; e += ${nt}u) {
      let j = k0 + e / ${dp4}u;
      let d4 = e % ${dp4}u;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (j < nkMax && d4 < ${dh4}u) {
        let g = (kv0 + j) * ${dh4}u + d4;
        kv = K[g];
        vv = V[g];
      }
      ks[e] = kv;
      vs[e] = vv;
    }`
          : `for (var e = lid; e < ${bk * dp}u; e += ${nt}u) {
      let j = k0 + e / ${dp}u;
      let d = e % ${dp}u;
      var kv = 0.0;
      var vv = 0.0;
      if (j < nkMax && d < ${dh}u) {
        let g = (kv0 + j) * ${dh}u + d;
        kv = K[g];
        vv = V[g];
      }
      ks[e / 4u][e % 4u] = kv;
      vs[e / 4u][e % 4u] = vv;
    }`
      }
    workgroupBarrier();
    ${
        each(tile, (kk) =>
          `part[${partIdx(kk)} + p] = ${
            rs.map((x) => `dot(qv${x}, ks[${kk} * ${dp4}u + ${slot(x)}])`).join(" + ")
          };`)
      }
    workgroupBarrier();
    var mNew = m;
    ${
        each(tile, (kk) => `if (k0 + ${kk} < nk) { mNew = max(mNew, ${score(kk)}); }`)
      }
    let alpha = exp(m - mNew);
    l *= alpha;
    ${rs.map((x) => `o${x} *= alpha;`).join(" ")}
    ${
        each(tile, (kk) =>
          `let pk = select(0.0, exp(${score(kk)} - mNew), k0 + ${kk} < nk);
      l += pk;
      ${rs.map((x) => `o${x} += pk * vs[${kk} * ${dp4}u + ${slot(x)}];`).join(" ")}`)
      }
    m = mNew;
    workgroupBarrier();
  }
  if (valid) {
    let inv = 1.0 / l;
    ${rs.map(store).join("\n    ")}
    ${saveLse ? `if (p == 0u) { LSE[bh * u.sq + i] = m + log(l); }` : ""}
  }
}`,
  };
}

/** Tuning knobs of the tiled backward (exported for benchmarks; `tiled: false` forces the per-row kernels). */
export const attentionBackwardTuning = {
  tiled: true,
  rowsPerBlock: 64,
  threadsPerRow: 2,
  maxStagedPerBlock: 16,
};

/** Most vec4 slots of one row a backward thread holds per register array (more threads per row beyond). */
const MAX_BWD_SLOTS = 8;

/**
 * The tiled backward's shape for head dimension `dh`: `bq` rows owned per workgroup (queries for dQ,
 * keys for dK/dV), `t` threads per row, `bk` rows staged per step; null where it does not apply.
 */
function unrollFor(fallback: boolean): boolean {
  const u = attentionTuning.unrollKeys;
  return u === "auto" ? !fallback : u;
}

function backwardTileFor(dh: number, storageLimit: number | undefined, fallback: boolean): Tile | null {
  const { tiled, rowsPerBlock: bq, threadsPerRow, maxStagedPerBlock } = attentionBackwardTuning;
  if (!tiled || dh > MAX_TILED_HEAD_DIM) return null;
  let t = threadsPerRow;
  while (Math.ceil(dh / (4 * t)) > MAX_BWD_SLOTS) t *= 2;
  const dp = Math.ceil(dh / (4 * t)) * 4 * t;
  const limit = storageLimit ?? 16384;
  for (let bk = maxStagedPerBlock; bk >= 4; bk /= 2) {
    if (2 * bk * dp * 4 + 2 * bk * 4 + 2 * bq * bk * t * 4 <= limit) {
      return { bq, t, bk, dp, unroll: unrollFor(fallback) };
    }
  }
  return null;
}

/** WGSL snippets shared by the tiled backward kernels (see {@linkcode forwardTiledProgram} for the layout). */
function tiledSnippets(dh: number, tile: Tile) {
  const { t, bk, dp } = tile;
  const r = dp / (4 * t), dp4 = dp / 4, vec = dh % 4 === 0, dh4 = dh / 4;
  const slot = (x: number) => `${x * t}u + p`;
  return {
    r,
    rs: Array.from({ length: r }, (_, x) => x),
    arr: vec ? "array<vec4<f32>>" : "array<f32>",
    /** Scalar loaders (the unaligned path reads element by element). */
    loaders: (names: string[]) =>
      vec
        ? ""
        : names.map((b) =>
          `fn ld${b}(base: u32, d: u32) -> f32 { if (d < ${dh}u) { return ${b}[base + d]; } return 0.0; }`
        ).join("\n"),
    /** Index of the first element (or vec4) of row `row`. */
    base: (row: string) => `(${row}) * ${vec ? dh4 : dh}u`,
    /** Slot x of this thread in the row starting at `base`, zero past Dh. */
    load: (b: string, base: string, x: number) =>
      vec
        ? `select(vec4<f32>(0.0), ${b}[${base} + min(${slot(x)}, ${dh4 - 1}u)], ${slot(x)} < ${dh4}u)`
        : `vec4<f32>(${[0, 1, 2, 3].map((c) => `ld${b}(${base}, (${slot(x)}) * 4u + ${c}u)`).join(", ")})`,
    store: (b: string, base: string, x: number, value: string) =>
      vec
        ? `if (${slot(x)} < ${dh4}u) { ${b}[${base} + ${slot(x)}] = ${value}; }`
        : `{ let val = ${value}; for (var c = 0u; c < 4u; c++) { let d = (${
          slot(x)
        }) * 4u + c; if (d < ${dh}u) { ${b}[${base} + d] = val[c]; } } }`,
    /** Staged vec4 slot x of staged row kk. */
    staged: (sh: string, kk: string, x: number) => `${sh}[${kk} * ${dp4}u + ${slot(x)}]`,
    /** Cooperative load of bk rows (row0 + e/dp…; rows where `ok(j)` fails are zeroed) into shared arrays. */
    stage: (nt: number, row0: string, okRow: string, pairs: [string, string][]) =>
      vec
        ? `for (var e = lid; e < ${bk * dp4}u; e += ${nt}u) {
      let j = ${row0} + e / ${dp4}u;
      let d4 = e % ${dp4}u;
      let ok = ${okRow} && d4 < ${dh4}u;
      let g = (kv0 + min(j, u.sq - 1u)) * ${dh4}u + min(d4, ${dh4 - 1}u);
      ${pairs.map(([sh, b]) => `${sh}[e] = select(vec4<f32>(0.0), ${b}[g], ok);`).join("\n      ")}
    }`
        : `for (var e = lid; e < ${bk * dp}u; e += ${nt}u) {
      let j = ${row0} + e / ${dp}u;
      let d = e % ${dp}u;
      let ok = ${okRow} && d < ${dh}u;
      let g = (kv0 + min(j, u.sq - 1u)) * ${dh}u + min(d, ${dh - 1}u);
      ${pairs.map(([sh, b]) => `${sh}[e / 4u][e % 4u] = select(0.0, ${b}[g], ok);`).join("\n      ")}
    }`,
  };
}

/**
 * Tiled dQ (and D_i = dO_i·O_i): a workgroup owns a block of queries, each split over t threads that
 * hold the scaled query, dO and the dQ accumulator in registers; K and V are staged in blocks of bk keys.
 * Key blocks no query of the block sees are skipped.
 */
function backwardQTiledProgram(dh: number, tile: Tile): Program {
  const { bq, t, bk } = tile;
  const nt = bq * t;
  const g = tiledSnippets(dh, tile);
  const part = (kk: string) => `(qi * ${bk}u + ${kk}) * ${t}u`;
  const sum = (sh: string, kk: string) =>
    Array.from({ length: t }, (_, c) => `${sh}[${part(kk)} + ${c}u]`).join(" + ");
  return {
    key: `attention:bwd-q-tiled:${dh}:${bq}:${t}:${bk}:${tile.unroll ? "u" : "l"}`,
    code: () =>
      `${UNIFORMS}
@group(0) @binding(1) var<storage, read> Q: ${g.arr};
@group(0) @binding(2) var<storage, read> K: ${g.arr};
@group(0) @binding(3) var<storage, read> V: ${g.arr};
@group(0) @binding(4) var<storage, read> O: ${g.arr};
@group(0) @binding(5) var<storage, read> dO: ${g.arr};
@group(0) @binding(6) var<storage, read> LSE: array<f32>;
@group(0) @binding(7) var<storage, read_write> dQ: ${g.arr};
@group(0) @binding(8) var<storage, read_write> Dsum: array<f32>;
var<workgroup> ks: array<vec4<f32>, ${(bk * tile.dp) / 4}>;
var<workgroup> vs: array<vec4<f32>, ${(bk * tile.dp) / 4}>;
var<workgroup> ps: array<f32, ${bq * bk * t}>;
var<workgroup> pd: array<f32, ${bq * bk * t}>;
${g.loaders(["Q", "O", "dO"])}
@compute @workgroup_size(${nt})
fn main(${PARAMS}) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= u.groups) { return; }
  let nqb = (u.sq + ${bq - 1}u) / ${bq}u;
  let bh = w / nqb;
  let qb0 = (w % nqb) * ${bq}u;
  let qi = lid / ${t}u;
  let p = lid % ${t}u;
  let i = qb0 + qi;
  let valid = i < u.sq;
  let kv0 = bh * u.sq;
  let row = bh * u.sq + min(i, u.sq - 1u);
  let qrow = ${g.base("row")};
  ${g.rs.map((x) => `let qv${x} = ${g.load("Q", "qrow", x)} * u.scale;`).join("\n  ")}
  ${g.rs.map((x) => `let gv${x} = ${g.load("dO", "qrow", x)};`).join("\n  ")}
  ${g.rs.map((x) => `var a${x} = vec4<f32>(0.0);`).join(" ")}
  ps[lid] = ${g.rs.map((x) => `dot(gv${x}, ${g.load("O", "qrow", x)})`).join(" + ")};
  workgroupBarrier();
  let di = ${Array.from({ length: t }, (_, c) => `ps[qi * ${t}u + ${c}u]`).join(" + ")};
  let lse = LSE[row];
  workgroupBarrier();
  let nk = max(i + 1u, u.prefix);
  let nkMax = max(min(qb0 + ${bq}u, u.sq), u.prefix);
  for (var k0 = 0u; k0 < nkMax; k0 += ${bk}u) {
    ${g.stage(nt, "k0", "j < nkMax", [["ks", "K"], ["vs", "V"]])}
    workgroupBarrier();
    ${
        each(tile, (kk) =>
          `ps[${part(kk)} + p] = ${g.rs.map((x) => `dot(qv${x}, ${g.staged("ks", kk, x)})`).join(" + ")};
      pd[${part(kk)} + p] = ${
            g.rs.map((x) => `dot(gv${x}, ${g.staged("vs", kk, x)})`).join(" + ")
          };`)
      }
    workgroupBarrier();
    ${
        each(tile, (kk) =>
          `let ds = select(0.0, exp(${sum("ps", kk)} - lse) * (${sum("pd", kk)} - di), k0 + ${kk} < nk);
      ${
            g.rs.map((x) => `a${x} += ds * ${g.staged("ks", kk, x)};`).join(" ")
          }`)
      }
    workgroupBarrier();
  }
  if (valid) {
    ${g.rs.map((x) => g.store("dQ", "qrow", x, `a${x} * u.scale`)).join("\n    ")}
    if (p == 0u) { Dsum[row] = di; }
  }
}`,
  };
}

/**
 * Tiled dK/dV: a workgroup owns a block of keys, each split over t threads that hold the scaled key, V
 * and the dK, dV accumulators in registers; Q, dO, LSE and D are staged in blocks of bk queries, from
 * query 0 when the block holds a prefix key, else from the block's first key (earlier queries see none).
 */
function backwardKVTiledProgram(dh: number, tile: Tile): Program {
  const { bq, t, bk } = tile;
  const nt = bq * t;
  const g = tiledSnippets(dh, tile);
  const part = (kk: string) => `(kj * ${bk}u + ${kk}) * ${t}u`;
  const sum = (sh: string, kk: string) =>
    Array.from({ length: t }, (_, c) => `${sh}[${part(kk)} + ${c}u]`).join(" + ");
  return {
    key: `attention:bwd-kv-tiled:${dh}:${bq}:${t}:${bk}:${tile.unroll ? "u" : "l"}`,
    code: () =>
      `${UNIFORMS}
@group(0) @binding(1) var<storage, read> Q: ${g.arr};
@group(0) @binding(2) var<storage, read> K: ${g.arr};
@group(0) @binding(3) var<storage, read> V: ${g.arr};
@group(0) @binding(4) var<storage, read> dO: ${g.arr};
@group(0) @binding(5) var<storage, read> LSE: array<f32>;
@group(0) @binding(6) var<storage, read> Dsum: array<f32>;
@group(0) @binding(7) var<storage, read_write> dK: ${g.arr};
@group(0) @binding(8) var<storage, read_write> dV: ${g.arr};
var<workgroup> qs: array<vec4<f32>, ${(bk * tile.dp) / 4}>;
var<workgroup> gs: array<vec4<f32>, ${(bk * tile.dp) / 4}>;
var<workgroup> ls: array<f32, ${bk}>;
var<workgroup> dsh: array<f32, ${bk}>;
var<workgroup> ps: array<f32, ${bq * bk * t}>;
var<workgroup> pd: array<f32, ${bq * bk * t}>;
${g.loaders(["K", "V"])}
@compute @workgroup_size(${nt})
fn main(${PARAMS}) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= u.groups) { return; }
  let nkb = (u.sq + ${bq - 1}u) / ${bq}u;
  let bh = w / nkb;
  let kb0 = (w % nkb) * ${bq}u;
  let kj = lid / ${t}u;
  let p = lid % ${t}u;
  let j = kb0 + kj;
  let valid = j < u.sq;
  let kv0 = bh * u.sq;
  let krow = ${g.base("bh * u.sq + min(j, u.sq - 1u)")};
  ${g.rs.map((x) => `let kr${x} = ${g.load("K", "krow", x)} * u.scale;`).join("\n  ")}
  ${g.rs.map((x) => `let vv${x} = ${g.load("V", "krow", x)};`).join("\n  ")}
  ${g.rs.map((x) => `var gk${x} = vec4<f32>(0.0);`).join(" ")}
  ${g.rs.map((x) => `var gv${x} = vec4<f32>(0.0);`).join(" ")}
  let first = select(kb0, 0u, kb0 < u.prefix);
  for (var i0 = first; i0 < u.sq; i0 += ${bk}u) {
    ${g.stage(nt, "i0", "j < u.sq", [["qs", "Q"], ["gs", "dO"]])}
    if (lid < ${bk}u) {
      let i = min(i0 + lid, u.sq - 1u);
      ls[lid] = LSE[kv0 + i];
      dsh[lid] = Dsum[kv0 + i];
    }
    workgroupBarrier();
    ${
        each(tile, (kk) =>
          `ps[${part(kk)} + p] = ${g.rs.map((x) => `dot(kr${x}, ${g.staged("qs", kk, x)})`).join(" + ")};
      pd[${part(kk)} + p] = ${
            g.rs.map((x) => `dot(vv${x}, ${g.staged("gs", kk, x)})`).join(" + ")
          };`)
      }
    workgroupBarrier();
    ${
        each(tile, (kk) =>
          `let i = i0 + ${kk};
      let pk = select(0.0, exp(${sum("ps", kk)} - ls[${kk}]), i < u.sq && j < max(i + 1u, u.prefix));
      let ds = pk * (${sum("pd", kk)} - dsh[${kk}]);
      ${
            g.rs.map((x) =>
              `gv${x} += pk * ${g.staged("gs", kk, x)}; gk${x} += ds * ${g.staged("qs", kk, x)};`
            ).join(" ")
          }`)
      }
    workgroupBarrier();
  }
  if (valid) {
    ${g.rs.map((x) => g.store("dK", "krow", x, `gk${x} * u.scale`)).join("\n    ")}
    ${g.rs.map((x) => g.store("dV", "krow", x, `gv${x}`)).join("\n    ")}
  }
}`,
  };
}

function backwardQProgram(dpt: number): Program {
  return {
    key: `attention:bwd-q:${dpt}`,
    code: () =>
      `${UNIFORMS}
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> O: array<f32>;
@group(0) @binding(5) var<storage, read> dO: array<f32>;
@group(0) @binding(6) var<storage, read> LSE: array<f32>;
@group(0) @binding(7) var<storage, read_write> dQ: array<f32>;
@group(0) @binding(8) var<storage, read_write> Dsum: array<f32>;
var<workgroup> qs: array<f32, ${dpt * WG}>;
var<workgroup> gs: array<f32, ${dpt * WG}>;
var<workgroup> dss: array<f32, ${WG}>;
${REDUCE}
// Workgroup w = (bh, i): dQ_i = scale Σ_j P_ij (dO_i·V_j − D_i) K_j, and D_i = dO_i·O_i for the dK/dV pass.
@compute @workgroup_size(${WG})
fn main(${PARAMS}) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= u.groups) { return; }
  let bh = w / u.sq;
  let i = w % u.sq;
  let kv0 = bh * u.skv;
  var dpart = 0.0;
  for (var d = lid; d < u.dh; d += ${WG}u) {
    qs[d] = Q[w * u.dh + d];
    let g = dO[w * u.dh + d];
    gs[d] = g;
    dpart += g * O[w * u.dh + d];
  }
  let di = wgSum(lid, dpart);
  if (lid == 0u) { Dsum[w] = di; }
  let lse = LSE[w];
  let nk = max(i + 1u, u.prefix);
  ${accDecl("a", dpt)}
  for (var c = 0u; c < nk; c += ${WG}u) {
    let j = c + lid;
    var ds = 0.0;
    if (j < nk) {
      let row = (kv0 + j) * u.dh;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < u.dh; d++) {
        s += qs[d] * K[row + d];
        dp += gs[d] * V[row + d];
      }
      ds = exp(s * u.scale - lse) * (dp - di);
    }
    dss[lid] = ds;
    workgroupBarrier();
    let cnt = min(${WG}u, nk - c);
    ${perDim(dpt, (r) => `for (var t = 0u; t < cnt; t++) { a${r} += dss[t] * K[(kv0 + c + t) * u.dh + d]; }`)}
    workgroupBarrier();
  }
  ${perDim(dpt, (r) => `dQ[w * u.dh + d] = a${r} * u.scale;`)}
}`,
  };
}

function backwardKVProgram(dpt: number): Program {
  return {
    key: `attention:bwd-kv:${dpt}`,
    code: () =>
      `${UNIFORMS}
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> LSE: array<f32>;
@group(0) @binding(6) var<storage, read> Dsum: array<f32>;
@group(0) @binding(7) var<storage, read_write> dK: array<f32>;
@group(0) @binding(8) var<storage, read_write> dV: array<f32>;
var<workgroup> ks: array<f32, ${dpt * WG}>;
var<workgroup> vs: array<f32, ${dpt * WG}>;
var<workgroup> ps: array<f32, ${WG}>;
var<workgroup> dss: array<f32, ${WG}>;
// Workgroup w = (bh, j): key j is seen by every query if j < prefix, else by the queries i ≥ j.
@compute @workgroup_size(${WG})
fn main(${PARAMS}) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= u.groups) { return; }
  let bh = w / u.sq;
  let j = w % u.sq;
  let q0 = bh * u.sq;
  for (var d = lid; d < u.dh; d += ${WG}u) {
    ks[d] = K[w * u.dh + d];
    vs[d] = V[w * u.dh + d];
  }
  workgroupBarrier();
  ${accDecl("gk", dpt)}
  ${accDecl("gv", dpt)}
  let first = select(j, 0u, j < u.prefix);
  for (var c = first; c < u.sq; c += ${WG}u) {
    let i = c + lid;
    var p = 0.0;
    var ds = 0.0;
    if (i < u.sq) {
      let row = (q0 + i) * u.dh;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < u.dh; d++) {
        s += Q[row + d] * ks[d];
        dp += dO[row + d] * vs[d];
      }
      p = exp(s * u.scale - LSE[q0 + i]);
      ds = p * (dp - Dsum[q0 + i]);
    }
    ps[lid] = p;
    dss[lid] = ds;
    workgroupBarrier();
    let cnt = min(${WG}u, u.sq - c);
    ${
        perDim(dpt, (r) =>
          `for (var t = 0u; t < cnt; t++) {
        let row = (q0 + c + t) * u.dh + d;
        gv${r} += ps[t] * dO[row];
        gk${r} += dss[t] * Q[row];
      }`)
      }
    workgroupBarrier();
  }
  ${perDim(dpt, (r) => `dK[w * u.dh + d] = gk${r} * u.scale;\n    dV[w * u.dh + d] = gv${r};`)}
}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// Software adapter: texture kernels
// ---------------------------------------------------------------------------------------------------

/** Threads per workgroup of the texture kernels (no barriers, so any size works). */
const TEX_WG = 64;
/** The largest head dimension the texture kernels take (each thread keeps a few rows of Dh in registers). */
export const MAX_TEXTURE_HEAD_DIM = 128;

/**
 * Whether the texture kernels run: on the software adapter (llvmpipe) for Dh a multiple of 4 up to
 * {@linkcode MAX_TEXTURE_HEAD_DIM}, unless `attentionTuning.texture` says otherwise. There, storage-buffer
 * and workgroup-memory loads cost about 16 ns per vec4 per invocation and barriers split the shader, so
 * the tiled kernels ran B4 H4 S48 Dh16 forward + backward in about 200 ms (2 cores, 2026-11-26); the
 * texture kernels read the shared rows through storage textures (about 1 ns per texel) with one thread
 * per row and no barriers (see {@linkcode Runtime.texels}).
 */
function useTexture(rt: Runtime, dh: number): boolean {
  const t = attentionTuning.texture;
  return (t === "auto" ? rt.gpu.info.fallback : t) && dh % 4 === 0 && dh <= MAX_TEXTURE_HEAD_DIM;
}

const TEX_HEAD = (names: string[]) => {
  const W = TEXEL_WIDTH, LW = Math.log2(W);
  return names.map((n, i) =>
    `@group(0) @binding(${i + 1}) var T${n}: texture_storage_2d<rgba32float, read>;
fn ld${n}(t: u32) -> vec4<f32> { return textureLoad(T${n}, vec2u(t & ${W - 1}u, t >> ${LW}u)); }`
  ).join("\n");
};

/** Σ over the D4 vec4 slots of dot(a_r, b_r), as one WGSL expression. */
const dots = (d4: number, a: (r: number) => string, b: (r: number) => string) =>
  Array.from({ length: d4 }, (_, r) => `dot(${a(r)}, ${b(r)})`).join(" + ");

/**
 * Texture forward: thread w = (bh, i) runs query i's online softmax over keys j < max(i + 1, prefix),
 * reading K and V rows as texels; q and the output accumulator live in registers (Dh/4 vec4s each).
 */
function forwardTextureProgram(dh: number, saveLse: boolean): Program {
  const d4 = dh / 4;
  const each = (f: (r: number) => string) => Array.from({ length: d4 }, (_, r) => f(r)).join("\n    ");
  return {
    key: `attention:fwd-tex:${dh}:${saveLse ? "lse" : "nolse"}`,
    code: () =>
      `${UNIFORMS}
${TEX_HEAD(["K", "V"])}
@group(0) @binding(3) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> O: array<vec4<f32>>;
${saveLse ? "@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;" : ""}
@compute @workgroup_size(${TEX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x + gid.y * nwg.x * ${TEX_WG}u;
  if (w >= u.groups) { return; }
  let bh = w / u.sq;
  let i = w % u.sq;
  let kv0 = bh * u.skv * ${d4}u;
  ${each((r) => `let q${r} = Q[w * ${d4}u + ${r}u] * u.scale;`)}
  ${each((r) => `var o${r} = vec4<f32>(0.0);`)}
  var m = ${LOWEST};
  var l = 0.0;
  let nk = max(i + 1u, u.prefix);
  for (var j = 0u; j < nk; j++) {
    let t = kv0 + j * ${d4}u;
    let s = ${dots(d4, (r) => `q${r}`, (r) => `ldK(t + ${r}u)`)};
    let mNew = max(m, s);
    let alpha = exp(m - mNew);
    let p = exp(s - mNew);
    l = l * alpha + p;
    ${each((r) => `o${r} = o${r} * alpha + p * ldV(t + ${r}u);`)}
    m = mNew;
  }
  let inv = 1.0 / l;
  ${each((r) => `O[w * ${d4}u + ${r}u] = o${r} * inv;`)}
  ${saveLse ? "LSE[w] = m + log(l);" : ""}
}`,
  };
}

/**
 * Texture backward for dQ: thread w = (bh, i) recomputes P_ij = exp(s_ij − lse_i) over the keys it sees
 * (K, V rows as texels) and accumulates dQ_i = scale Σ_j P_ij (dO_i·V_j − D_i) K_j; writes D_i = dO_i·O_i.
 */
function backwardQTextureProgram(dh: number): Program {
  const d4 = dh / 4;
  const each = (f: (r: number) => string) => Array.from({ length: d4 }, (_, r) => f(r)).join("\n    ");
  return {
    key: `attention:bwd-q-tex:${dh}`,
    code: () =>
      `${UNIFORMS}
${TEX_HEAD(["K", "V"])}
@group(0) @binding(3) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> O: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> LSE: array<f32>;
@group(0) @binding(7) var<storage, read_write> dQ: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> Dsum: array<f32>;
@compute @workgroup_size(${TEX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x + gid.y * nwg.x * ${TEX_WG}u;
  if (w >= u.groups) { return; }
  let bh = w / u.sq;
  let i = w % u.sq;
  let kv0 = bh * u.skv * ${d4}u;
  ${each((r) => `let q${r} = Q[w * ${d4}u + ${r}u] * u.scale;`)}
  ${each((r) => `let g${r} = G[w * ${d4}u + ${r}u];`)}
  let D = ${dots(d4, (r) => `g${r}`, (r) => `O[w * ${d4}u + ${r}u]`)};
  let lse = LSE[w];
  ${each((r) => `var dq${r} = vec4<f32>(0.0);`)}
  let nk = max(i + 1u, u.prefix);
  for (var j = 0u; j < nk; j++) {
    let t = kv0 + j * ${d4}u;
    ${each((r) => `let k${r} = ldK(t + ${r}u);`)}
    let p = exp(${dots(d4, (r) => `q${r}`, (r) => `k${r}`)} - lse);
    let ds = p * (${dots(d4, (r) => `g${r}`, (r) => `ldV(t + ${r}u)`)} - D);
    ${each((r) => `dq${r} += ds * k${r};`)}
  }
  ${each((r) => `dQ[w * ${d4}u + ${r}u] = dq${r} * u.scale;`)}
  Dsum[w] = D;
}`,
  };
}

/**
 * Texture backward for dK, dV: thread w = (bh, j) loops over the queries that see key j (all when
 * j < prefix, else i ≥ j), reading Q, dO, lse and D as texels: dV_j = Σ_i P_ij dO_i,
 * dK_j = scale Σ_i P_ij (dO_i·V_j − D_i) Q_i.
 */
function backwardKVTextureProgram(dh: number): Program {
  const d4 = dh / 4;
  const each = (f: (r: number) => string) => Array.from({ length: d4 }, (_, r) => f(r)).join("\n    ");
  return {
    key: `attention:bwd-kv-tex:${dh}`,
    code: () =>
      `${UNIFORMS}
${TEX_HEAD(["Q", "G", "L", "D"])}
@group(0) @binding(5) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dK: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dV: array<vec4<f32>>;
@compute @workgroup_size(${TEX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x + gid.y * nwg.x * ${TEX_WG}u;
  if (w >= u.groups) { return; }
  let bh = w / u.skv;
  let j = w % u.skv;
  let q0 = bh * u.sq;
  ${each((r) => `let k${r} = K[w * ${d4}u + ${r}u] * u.scale;`)}
  ${each((r) => `let v${r} = V[w * ${d4}u + ${r}u];`)}
  ${each((r) => `var dk${r} = vec4<f32>(0.0);`)}
  ${each((r) => `var dv${r} = vec4<f32>(0.0);`)}
  var i = select(j, 0u, j < u.prefix);
  for (; i < u.sq; i++) {
    let row = q0 + i;
    let t = row * ${d4}u;
    ${each((r) => `let q${r} = ldQ(t + ${r}u);`)}
    ${each((r) => `let g${r} = ldG(t + ${r}u);`)}
    let p = exp(${dots(d4, (r) => `q${r}`, (r) => `k${r}`)} - ldL(row / 4u)[row & 3u]);
    let ds = p * (${dots(d4, (r) => `g${r}`, (r) => `v${r}`)} - ldD(row / 4u)[row & 3u]);
    ${each((r) => `dv${r} += p * g${r};`)}
    ${each((r) => `dk${r} += ds * q${r};`)}
  }
  ${each((r) => `dK[w * ${d4}u + ${r}u] = dk${r} * u.scale;`)}
  ${each((r) => `dV[w * ${d4}u + ${r}u] = dv${r};`)}
}`,
  };
}

function uniforms(groups: number, sq: number, skv: number, dh: number, prefix: number, scale: number) {
  return [groups, sq, skv, dh, prefix, f32Bits(scale), 0, 0];
}

function checkHeads(what: string, ...ts: Tensor[]) {
  for (const t of ts) {
    if (t.dtype !== "f32") throw new TypeError(`${what}: expected f32 tensors, got ${t.dtype}`);
    if (t.shape.length !== 4) {
      throw new RangeError(`${what}: expected [B, H, S, Dh] tensors, got [${t.shape.join(", ")}]`);
    }
  }
  const dh = ts[0].shape[3];
  if (dh < 1 || dh > MAX_HEAD_DIM) {
    throw new RangeError(`${what}: head dimension ${dh} is outside [1, ${MAX_HEAD_DIM}]`);
  }
  return dh;
}

function checkScale(scale: number | undefined, dh: number): number {
  const s = scale ?? 1 / Math.sqrt(dh);
  if (!Number.isFinite(s)) throw new RangeError(`attention: scale ${scale} must be finite`);
  return s;
}

/**
 * Attention of `q`, `k`, `v` [B, H, S, Dh] (f32, Dh ≤ {@linkcode MAX_HEAD_DIM}) under the
 * prefix-bidirectional, causal-after mask: softmax(scale · q kᵀ + mask) v, with query i seeing key j
 * iff (i < prefix and j < prefix) or j ≤ i. `prefix` is an integer in [0, S]; 0 and 1 give plain causal
 * attention, S full bidirectional attention. Differentiable in q, k and v.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
  const dh = checkHeads("attention", q, k, v);
  if (k.shape.join() !== q.shape.join() || v.shape.join() !== q.shape.join()) {
    throw new RangeError(`attention: q [${q.shape}], k [${k.shape}] and v [${v.shape}] must have one shape`);
  }
  const [b, h, s] = q.shape;
  const { prefix } = options;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > s) {
    throw new RangeError(`attention: prefix ${prefix} must be an integer in [0, ${s}]`);
  }
  const scale = checkScale(options.scale, dh);
  const rt = q.rt;
  const groups = b * h * s;
  const dpt = Math.ceil(dh / WG);
  const out = new Tensor(rt, q.shape);
  const u = uniforms(groups, s, s, dh, prefix, scale);
  const wgs = grid(groups, rt, 1);
  const tile = tileFor(dh, rt.gpu.limits.maxComputeWorkgroupStorageSize, rt.gpu.info.fallback);
  const texture = useTexture(rt, dh);
  const forward = (saveLse: boolean, buffers: GPUBuffer[]) => {
    if (texture) {
      const [tq, tk, tv, ...rest] = buffers;
      const tex = [tk, tv].map((b) => rt.texels(b, q.size / 4));
      rt.dispatch(forwardTextureProgram(dh, saveLse), [...tex, tq, ...rest], grid(groups, rt, TEX_WG), u);
      tex.forEach((t) => rt.releaseTexels(t));
      return;
    }
    if (!tile) return rt.dispatch(forwardProgram(dpt, saveLse), buffers, wgs, u);
    const blocks = b * h * Math.ceil(s / tile.bq);
    rt.dispatch(
      forwardTiledProgram(dh, tile, saveLse),
      buffers,
      grid(blocks, rt, 1),
      uniforms(blocks, s, s, dh, prefix, scale),
    );
  };
  if (!gradEnabled() || ![q, k, v].some((t) => t.requiresGrad)) {
    forward(false, [q.buffer, k.buffer, v.buffer, out.buffer]);
    return out;
  }
  // The row log-sum-exps, kept for backward (released there).
  const lse = new Tensor(rt, [b, h, s]);
  forward(true, [q.buffer, k.buffer, v.buffer, out.buffer, lse.buffer]);
  return record(out, "attention", [q, k, v], (g) => {
    const dq = new Tensor(rt, q.shape), dk = new Tensor(rt, q.shape), dv = new Tensor(rt, q.shape);
    const dsum = new Tensor(rt, [b, h, s]);
    if (texture) {
      const twgs = grid(groups, rt, TEX_WG);
      const kv = [k, v].map((t) => rt.texels(t.buffer, t.size / 4));
      rt.dispatch(
        backwardQTextureProgram(dh),
        [...kv, q.buffer, out.buffer, g.buffer, lse.buffer, dq.buffer, dsum.buffer],
        twgs,
        u,
      );
      const rows = [q, g, lse, dsum].map((t) => rt.texels(t.buffer, Math.ceil(t.size / 4)));
      rt.dispatch(backwardKVTextureProgram(dh), [...rows, k.buffer, v.buffer, dk.buffer, dv.buffer], twgs, u);
      [...kv, ...rows].forEach((t) => rt.releaseTexels(t));
      dsum.release();
      lse.release();
      return [dq, dk, dv];
    }
    const bt = backwardTileFor(dh, rt.gpu.limits.maxComputeWorkgroupStorageSize, rt.gpu.info.fallback);
    if (bt) {
      const blocks = b * h * Math.ceil(s / bt.bq);
      const ub = uniforms(blocks, s, s, dh, prefix, scale), bwgs = grid(blocks, rt, 1);
      rt.dispatch(
        backwardQTiledProgram(dh, bt),
        [q.buffer, k.buffer, v.buffer, out.buffer, g.buffer, lse.buffer, dq.buffer, dsum.buffer],
        bwgs,
        ub,
      );
      rt.dispatch(
        backwardKVTiledProgram(dh, bt),
        [q.buffer, k.buffer, v.buffer, g.buffer, lse.buffer, dsum.buffer, dk.buffer, dv.buffer],
        bwgs,
        ub,
      );
      dsum.release();
      lse.release();
      return [dq, dk, dv];
    }
    rt.dispatch(
      backwardQProgram(dpt),
      [q.buffer, k.buffer, v.buffer, out.buffer, g.buffer, lse.buffer, dq.buffer, dsum.buffer],
      wgs,
      u,
    );
    rt.dispatch(
      backwardKVProgram(dpt),
      [q.buffer, k.buffer, v.buffer, g.buffer, lse.buffer, dsum.buffer, dk.buffer, dv.buffer],
      wgs,
      u,
    );
    dsum.release();
    lse.release();
    return [dq, dk, dv];
  });
}

/**
 * One decoding step against a KV cache: `q` [B, H, 1, Dh] attends to the first `length` positions of
 * `kCache` and `vCache` [B, H, Smax, Dh] (1 ≤ length ≤ Smax), all of them: the new token's position
 * is length − 1, which sees the whole prefix and every earlier answer token. Returns [B, H, 1, Dh].
 * Forward only: it throws when called with recording on and an input that requires a gradient (use
 * it inside `noGrad`).
 */
export function attentionDecode(
  q: Tensor,
  kCache: Tensor,
  vCache: Tensor,
  length: number,
  options: { scale?: number } = {},
): Tensor {
  const dh = checkHeads("attentionDecode", q, kCache, vCache);
  const [b, h, one] = q.shape;
  const smax = kCache.shape[2];
  if (
    one !== 1 || kCache.shape.join() !== vCache.shape.join() ||
    kCache.shape.join() !== [b, h, smax, dh].join()
  ) {
    throw new RangeError(
      `attentionDecode: q [${q.shape}] must be [B, H, 1, Dh] and the caches [${kCache.shape}], ` +
        `[${vCache.shape}] [B, H, Smax, Dh]`,
    );
  }
  if (!Number.isInteger(length) || length < 1 || length > smax) {
    throw new RangeError(`attentionDecode: length ${length} must be an integer in [1, ${smax}]`);
  }
  if (gradEnabled() && [q, kCache, vCache].some((t) => t.requiresGrad)) {
    throw new Error("attentionDecode has no backward: call it inside noGrad()");
  }
  const scale = checkScale(options.scale, dh);
  const rt = q.rt;
  const out = new Tensor(rt, q.shape);
  // One query per head (sq = 1) whose visible range is max(0 + 1, prefix = length) = length keys.
  const u = uniforms(b * h, 1, smax, dh, length, scale);
  if (useTexture(rt, dh)) {
    // Software adapter: one thread per head reading the caches as texels (no barriers); the
    // workgroup-per-query kernel below costs ~13 ms per call there at B·H = 256.
    const tex = [kCache, vCache].map((t) => rt.texels(t.buffer, t.size / 4));
    rt.dispatch(forwardTextureProgram(dh, false), [...tex, q.buffer, out.buffer], grid(b * h, rt, TEX_WG), u);
    tex.forEach((t) => rt.releaseTexels(t));
    return out;
  }
  rt.dispatch(
    forwardProgram(Math.ceil(dh / WG), false),
    [q.buffer, kCache.buffer, vCache.buffer, out.buffer],
    grid(b * h, rt, 1),
    u,
  );
  return out;
}

/** Whether query i may attend to key j under the prefix mask. */
export function attentionMask(i: number, j: number, prefix: number): boolean {
  return (i < prefix && j < prefix) || j <= i;
}

/**
 * float64 CPU reference of {@linkcode attention} (data [B, H, S, Dh] flattened), and of
 * {@linkcode attentionDecode} through `keys`: when given, every query attends to keys [0, keys) of
 * K/V rows of length `kvRows` per head instead of the mask.
 */
export function attentionReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  shape: readonly number[],
  prefix: number,
  scale = 1 / Math.sqrt(shape[3]),
  decode?: { keys: number; kvRows: number },
): Float64Array {
  const [b, h, s, dh] = shape;
  const kvRows = decode?.kvRows ?? s;
  const out = new Float64Array(b * h * s * dh);
  const scores = new Float64Array(kvRows);
  for (let bh = 0; bh < b * h; bh++) {
    for (let i = 0; i < s; i++) {
      const qo = (bh * s + i) * dh;
      const nk = decode ? decode.keys : Math.max(i + 1, prefix);
      let max = -Infinity;
      for (let j = 0; j < nk; j++) {
        const ko = (bh * kvRows + j) * dh;
        let dotp = 0;
        for (let d = 0; d < dh; d++) dotp += q[qo + d] * k[ko + d];
        scores[j] = dotp * scale;
        max = Math.max(max, scores[j]);
      }
      let z = 0;
      for (let j = 0; j < nk; j++) {
        scores[j] = Math.exp(scores[j] - max);
        z += scores[j];
      }
      for (let j = 0; j < nk; j++) {
        const p = scores[j] / z, vo = (bh * kvRows + j) * dh;
        for (let d = 0; d < dh; d++) out[qo + d] += p * v[vo + d];
      }
    }
  }
  return out;
}
