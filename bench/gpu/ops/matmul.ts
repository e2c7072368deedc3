/**
 * Batched matrix multiplication with numpy batch broadcasting, transpose flags, an optional fused
 * bias + GELU epilogue, f16 inputs (f32 accumulation) and autograd.
 *
 * Two kernel families, both generated as WGSL text from TypeScript (no variable-indexed private
 * arrays; the hot loop is unrolled in the generated text):
 *
 * - **tiled**: a workgroup computes a BM×BN tile of C, stepping through K in BK-deep slices staged in
 *   workgroup memory; each thread holds TM×TN accumulators as separate `vec4<f32>` locals (TM rows ×
 *   TN/4 column quads), reads `vec4`s from workgroup memory, and prefetches the next slice from global
 *   memory into registers while it computes the current one. Global loads are `vec4` along an operand's
 *   contiguous dimension when that dimension is a multiple of 4, scalar otherwise; every load and store
 *   is bounds-checked, so any shape works. Options: double-buffered tiles (one barrier per k-step),
 *   XOR-swizzled transposed stores (no bank conflicts), an L2-friendly workgroup order in strips along M,
 *   f16 workgroup tiles for f16 operands, loads without prefetch (fewer live registers), nested workgroup
 *   tiles (the hot loop's reads indexed by constants and the thread's own coordinate), warp layouts, and
 *   k-groups (several groups of threads splitting K within one workgroup).
 * - **gemv**: for skinny products (M ≤ 16): a workgroup computes R rows × a strip of columns with K split
 *   over 16 lanes and a workgroup tree reduction; the thread layout follows B's contiguous dimension so
 *   B (the big operand) is read coalesced, and read once per R rows.
 *
 * Batch dimensions are the z dispatch dimension (merged where the broadcast pattern allows, chunked past
 * `maxComputeWorkgroupsPerDimension`); when B is one shared matrix and A is not transposed the batch is
 * folded into M, giving one big GEMM. A single GEMM with too few tiles to fill the GPU and a long K
 * (weight gradients) is split along K: the z dimension then indexes K-slices written to scratch, and a
 * second kernel sums them and applies the epilogue.
 *
 * Pipelines are cached by a key holding the kernel kind, tile configuration, transposes, dtypes, vec4
 * alignment, batch rank and epilogue; shapes and strides travel in the uniforms.
 *
 * @module
 */

import { gradEnabled, record } from "../autograd.ts";
import { type Binding, f32Bits, type Program, type Runtime, TEXEL_WIDTH } from "../runtime.ts";
import { type DType, numel, Tensor } from "../tensor.ts";
import {
  broadcastShape,
  broadcastStrides,
  FLAT_INDEX,
  grid,
  sumTo,
  texturePairProgram,
} from "./elementwise.ts";

// ---------------------------------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------------------------------

/**
 * A register-blocked tile: BM×BN outputs per workgroup, BK-deep k-steps through workgroup memory, TM×TN
 * outputs per thread ((BM/TM)·(BN/TN) threads). TM and TN must be 4, 8 or 16.
 */
export interface TileConfig {
  kind: "tile";
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
  /**
   * k-steps per unrolled block of the inner loop (a divisor of BK; default BK: the whole BK-deep step is
   * straight-line code). Smaller values loop over unrolled blocks (shorter shaders, faster to compile).
   */
  unroll?: number;
  /**
   * Double-buffered workgroup tiles: the prefetched slice is stored into the other buffer after the
   * current one is consumed, so a k-step needs one barrier instead of two (twice the workgroup memory).
   */
  db?: boolean;
  /**
   * XOR-swizzle the column quads of an operand stored transposed (A not transposed or B transposed,
   * vec4 loads along K), so its 4 scalar stores per unit hit distinct banks; needs BM (BN) ≥ 32.
   */
  swizzle?: boolean;
  /** L2-friendly order: workgroups walk strips of `group` tile rows (along M), column by column. */
  group?: number;
  /** f16 operands stay f16 in workgroup memory (half the bytes), widened to f32 for the FMAs. */
  half?: boolean;
  /**
   * With `half` and both operands f16: the products of each unrolled block (`unroll` k-steps) are summed
   * in f16 (packed f16 FMAs, twice the f32 rate on NVIDIA), and each block's sums are added to f32
   * accumulators. Not f32 accumulation: a block's partial sums round to f16 (about 1e-3 relative error
   * at K = 4096 on random data), and values beyond ±65504 overflow. For benchmarks; never chosen by the
   * heuristic.
   */
  halfSums?: boolean;
  /**
   * In-workgroup split-K: `kgroups` groups of (BM/TM)·(BN/TN) threads share one output tile, group g
   * taking k-steps g, g + kgroups, …, each through its own workgroup tiles; the groups' sums are then
   * added in workgroup memory (group 0 first, then 1, …) and group 0 writes the tile. For GEMMs whose
   * output has few tiles and a long K (weight gradients): more threads in flight and fewer k-steps per
   * thread, in one dispatch (split-K across workgroups needs a scratch buffer and a second dispatch).
   * Default 1; not with `db`.
   */
  kgroups?: number;
  /**
   * Workgroup tiles as nested arrays, [buffer][k-row part][thread column], with the same bytes in the same
   * places: a read of the hot loop then indexes the outer two by constants (or one per k-step) and the
   * inner by the thread's own coordinate, which is fixed for the whole kernel. naga clamps every
   * variable array index (its `Restrict` bounds checks), and a flat index varies with every read; the
   * nested one is clamped once. With `swizzle`, needs BM/TM ≥ 8 and BN/TN ≥ 8.
   */
  nested?: boolean;
  /**
   * Threads along N within each warp of 32 (1 to 32, a power of two): a warp then covers lanes × 32/lanes
   * threads of the BN/TN × BM/TM grid, so its reads of a k-row touch fewer distinct addresses. Default:
   * threads in row-major order (a warp is 32 consecutive threads of a BN/TN-wide row).
   */
  lanes?: number;
  /**
   * Load the next k-step from global memory into registers while computing the current one (default
   * true). false loads each k-step just before storing it, so those registers are free during the
   * FMAs (fewer registers, more workgroups per SM); with `db`, the next k-step is loaded and stored
   * into the other buffer after the current one's FMAs.
   */
  prefetch?: boolean;
  /**
   * With `prefetch: false` (and no `db`): issue a k-step's loads before the barrier that precedes its
   * stores rather than after it, so they are in flight while the workgroup's other threads finish the
   * previous k-step.
   */
  early?: boolean;
}

/**
 * The skinny-matrix kernel: `rows` rows of C per workgroup (1, 2, 4, 8 or 16; 0 chooses from M), K split
 * over 16 lanes.
 */
export interface GemvConfig {
  kind: "gemv";
  rows: number;
}

/**
 * The software-adapter kernel (llvmpipe): no workgroup memory and no barriers; each invocation computes
 * TM×TN outputs (TM, TN: 4 or 8) in registers, reading both operands through storage textures (see
 * {@linkcode Runtime.texels}); WX×WY invocations per workgroup. Needs both operands' contiguous
 * dimensions to be multiples of 4 (a texel holds 4 consecutive elements); other shapes run
 * {@linkcode chooseTiledConfig}'s tile instead.
 */
export interface TexConfig {
  kind: "tex";
  TM: number;
  TN: number;
  WX: number;
  WY: number;
}

/** A kernel configuration. */
export type MatmulConfig = TileConfig | GemvConfig | TexConfig;

/** The named configurations (the heuristic chooses among these). */
export const MATMUL_CONFIGS = {
  /** Large shapes: 128×128, BK 16, 8×8 per thread, 256 threads, 16 KiB of workgroup memory. */
  "128x128": { kind: "tile", BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
  /**
   * The 128×128 class on GPUs: as "128x128" with nested workgroup tiles, no prefetch (each k-step's loads
   * just before its stores) and swizzled transposed stores, 16 KiB.
   */
  "128x128np": {
    kind: "tile",
    BM: 128,
    BN: 128,
    BK: 16,
    TM: 8,
    TN: 8,
    nested: true,
    prefetch: false,
    swizzle: true,
  },
  /**
   * Big GEMMs (≥ 1024 tiles of 128×128): 128×128, BK 32, 8×8 per thread, 256 threads, swizzled transposed
   * stores, 32 KiB of workgroup memory.
   */
  "128x128k32": { kind: "tile", BM: 128, BN: 128, BK: 32, TM: 8, TN: 8, swizzle: true },
  /**
   * f32 GEMMs in the 128×128 class with K ≥ 1024: 128×128, BK 16, 8×8 per thread, double-buffered
   * (one barrier per k-step) with swizzled transposed stores, 32 KiB.
   */
  "128x128db": { kind: "tile", BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, db: true, swizzle: true },
  /** Large-ish shapes: 128×64, BK 16, 8×4 per thread, 256 threads, 12 KiB. */
  "128x64": { kind: "tile", BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  /** Large, narrower in M: 64×128, BK 16, 4×8 per thread, 256 threads, 12 KiB. */
  "64x128": { kind: "tile", BM: 64, BN: 128, BK: 16, TM: 4, TN: 8 },
  /** Mid shapes: 64×64, BK 16, 4×4 per thread, 256 threads, 8 KiB. */
  "64x64": { kind: "tile", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  /** Mid shapes that fill a wave (with split-K): "64x64" with nested workgroup tiles. */
  "64x64n": { kind: "tile", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, nested: true },
  /** Short-K mid shapes with many columns: 64×32, BK 16, 4×4 per thread, 128 threads, 6 KiB. */
  "64x32": { kind: "tile", BM: 64, BN: 32, BK: 16, TM: 4, TN: 4, swizzle: true },
  /** Small outputs (fewer than 32 tiles of 64×64): 32×32, BK 16, 4×4 per thread, 64 threads, 4 KiB. */
  "32x32": { kind: "tile", BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, swizzle: true },
  /**
   * Small outputs with a K too short to split: "32x32" with 4 k-groups (256 threads, each group every 4th
   * k-step), 20 KiB.
   */
  "32x32kg4": { kind: "tile", BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, swizzle: true, kgroups: 4 },
  /** Skinny M (GEMV-like); rows per workgroup chosen from M (at most 16). */
  "gemv": { kind: "gemv", rows: 0 },
  /** Software adapter: 8×8 outputs per invocation through texture loads, 8×8 invocations (64×64 outputs). */
  "tex8x8": { kind: "tex", TM: 8, TN: 8, WX: 8, WY: 8 },
  /** Software adapter: 4×8 outputs per invocation, 8×8 invocations (32×64 outputs per workgroup). */
  "tex4x8": { kind: "tex", TM: 4, TN: 8, WX: 8, WY: 8 },
  /** Software adapter, small outputs: 4×4 per invocation, 8×4 invocations (16×32 outputs per workgroup). */
  "tex4x4": { kind: "tex", TM: 4, TN: 4, WX: 8, WY: 4 },
} as const satisfies Record<string, MatmulConfig>;

/** A configuration name. */
export type MatmulConfigName = keyof typeof MATMUL_CONFIGS;

/**
 * Workgroup memory a configuration needs, in bytes, with `f16` operands A / B (which a `half` tile keeps
 * as f16; by default both are taken as f32, the most a configuration can need).
 */
export function configWorkgroupBytes(c: MatmulConfig, f16A = false, f16B = false): number {
  // gemv: the larger of the N-major (vec4 partials, ≤ 4 rows a round) and K-major (f32, all rows) layouts.
  const rows = c.kind === "gemv" ? c.rows || 16 : 0;
  if (c.kind === "tex") return 0;
  if (c.kind !== "tile") return GEMV_THREADS * Math.max(16 * Math.min(rows, GEMV_NFAST_ROUND), 4 * rows);
  const ea = c.half && f16A ? 2 : 4, eb = c.half && f16B ? 2 : 4;
  const groups = c.kgroups ?? 1;
  // With k-groups: each group's tiles, plus one f32 output tile for adding the groups' sums.
  return c.BK * (c.BM * ea + c.BN * eb) * (c.db ? 2 : 1) * groups + (groups > 1 ? c.BM * c.BN * 4 : 0);
}

/** Threads per workgroup of a configuration. */
export function configThreads(c: MatmulConfig): number {
  if (c.kind === "tex") return c.WX * c.WY;
  return c.kind === "tile" ? (c.BM / c.TM) * (c.BN / c.TN) * (c.kgroups ?? 1) : GEMV_THREADS;
}

/** Why a configuration cannot run on this device (or is malformed), or null when it can. */
export function configProblem(rt: Runtime, c: MatmulConfig, f16A = false, f16B = false): string | null {
  if (c.kind === "gemv") {
    return [0, 1, 2, 4, 8, 16].includes(c.rows) ? null : `gemv rows must be 1, 2, 4, 8 or 16 (got ${c.rows})`;
  }
  if (c.kind === "tex") {
    if (![4, 8].includes(c.TM) || ![4, 8].includes(c.TN)) {
      return `TM and TN must be 4 or 8 (got ${c.TM}×${c.TN})`;
    }
    const threads = c.WX * c.WY;
    if (!Number.isInteger(c.WX) || !Number.isInteger(c.WY) || c.WX < 1 || c.WY < 1) {
      return `workgroup ${c.WX}×${c.WY} must be positive integers`;
    }
    if (threads > rt.gpu.limits.maxComputeInvocationsPerWorkgroup) {
      return `${threads} threads exceed maxComputeInvocationsPerWorkgroup ${rt.gpu.limits.maxComputeInvocationsPerWorkgroup}`;
    }
    return null;
  }
  const { BM, BN, BK, TM, TN } = c;
  if (![4, 8, 16].includes(TM) || ![4, 8, 16].includes(TN)) {
    return `TM and TN must be 4, 8 or 16 (got ${TM}×${TN})`;
  }
  if (c.halfSums && !c.half) return "halfSums needs half (f16 workgroup tiles)";
  if (BM % TM || BN % TN || BK % 4 || BK <= 0 || BM <= 0 || BN <= 0) {
    return `tile ${BM}×${BN}×${BK} must be a multiple of ${TM}×${TN}×4`;
  }
  const U = c.unroll ?? BK;
  if (!Number.isInteger(U) || U <= 0 || BK % U) return `unroll ${U} must divide BK ${BK}`;
  const kgroups = c.kgroups ?? 1;
  if (!Number.isInteger(kgroups) || kgroups < 1 || kgroups > 8) {
    return `kgroups ${kgroups} must be an integer from 1 to 8`;
  }
  if (kgroups > 1 && c.db) return "kgroups does not combine with db";
  if (c.early && (c.prefetch !== false || c.db)) return "early needs prefetch: false and no db";
  if (c.lanes !== undefined) {
    const { lanes } = c, TX = BN / TN, TY = BM / TM;
    if (![1, 2, 4, 8, 16, 32].includes(lanes) || TX % lanes || TY % (32 / lanes)) {
      return `lanes ${lanes} must be a power of two up to 32 dividing BN/TN = ${TX}, with 32/lanes dividing BM/TM = ${TY}`;
    }
  }
  // The XOR of a swizzled read (at most 7) must stay within one thread row of the nested tile.
  if (c.nested && c.swizzle && ((BM / 4) % 8 === 0 && BM / TM < 8 || (BN / 4) % 8 === 0 && BN / TN < 8)) {
    return `nested with swizzle needs BM/TM and BN/TN of at least 8 (got ${BM / TM} and ${BN / TN})`;
  }
  const threads = configThreads(c);
  if (threads > rt.gpu.limits.maxComputeInvocationsPerWorkgroup) {
    return `${threads} threads exceed maxComputeInvocationsPerWorkgroup ${rt.gpu.limits.maxComputeInvocationsPerWorkgroup}`;
  }
  if (c.group !== undefined && (!Number.isInteger(c.group) || c.group < 1)) {
    return `group ${c.group} must be a positive integer`;
  }
  const bytes = configWorkgroupBytes(c, f16A, f16B);
  if (bytes > rt.gpu.limits.maxComputeWorkgroupStorageSize) {
    return `${bytes} bytes of workgroup memory exceed ${rt.gpu.limits.maxComputeWorkgroupStorageSize}`;
  }
  return null;
}

/**
 * Rows per workgroup of the gemv kernel for M rows: 1, 4 or 16 (few pipeline variants; the kernel is
 * bound by reading B, and surplus rows re-read a cached row of A). The N-major variant (B not
 * transposed) stops at 4, which its reduction handles in one round (more rows take several rounds with
 * two barriers each).
 */
function gemvRows(M: number, transB: boolean): number {
  return M <= 1 ? 1 : M <= 4 || !transB ? 4 : 16;
}

/** Workgroups the heuristics aim for: about two per SM on a 132-SM H100/H200. */
const TARGET_GROUPS = 256;
/** Fewest workgroups for which a tile is chosen without split-K (about one per SM). */
const MIN_GROUPS = 128;
/**
 * Smallest K-chunk of one split-K slice. 256 rather than 512 (H100 split sweep of the paper preset's
 * shapes, 2026-11-26, µs): the weight gradients with K = 1152 ran 4 slices faster than 2 (256×256×1152
 * on "32x32" 41 against 49, 256×1024×1152 on "128x64" 48 against 63), as did 1152×256×1024 (64×64: 52
 * against 63); a K of 256 is not split (it ran no faster split).
 */
const MIN_SPLIT_K = 256;
/** Smallest K-chunk of one split-K slice of the texture kernel. */
const TEX_MIN_SPLIT_K = 256;

/** Longest K, and fewest workgroups, for which a mid-sized GEMM takes the 64×32 tile. */
const NARROW_MAX_K = 512, NARROW_MIN_GROUPS = 256;
/** 64×64 tiles below which a GEMM takes the 32×32 tile. */
const SMALL_TILES = 32;

/**
 * The heuristic: on the software adapter (`rt.gpu.info.fallback`) the texture kernel
 * ({@linkcode chooseTexConfig}); on a GPU {@linkcode chooseTiledConfig}. M is rows per GEMM after batch
 * folding; `batch` is the number of GEMMs in the dispatch; `f16`: both inputs are f16. (Shapes the
 * texture kernel cannot run, with a contiguous dimension not a multiple of 4, take the tiled choice.)
 */
export function chooseMatmulConfig(
  rt: Runtime,
  M: number,
  N: number,
  K: number,
  batch = 1,
  transB = false,
  f16 = false,
): MatmulConfig {
  return rt.gpu.info.fallback
    ? chooseTexConfig(M, N, batch)
    : chooseTiledConfig(rt, M, N, K, batch, transB, f16);
}

/** Workgroups below which the texture kernel splits K (see {@linkcode chooseSplitK}). */
const TEX_MIN_GROUPS = 8;

/**
 * The software-adapter choice: "tex8x8" (8×8 invocations, 8×8 outputs each), except "tex4x4" for at most
 * 16 rows. Bigger register blocks load fewer texels per FMA: on llvmpipe (LLVM 15, 2 cores, FMA probe
 * 25 GFLOP/s; 2026-11-26) 256³ ran at 21.9 GFLOP/s with "tex8x8", 16.1 with "tex4x8" and 11.3 with
 * "tex4x4", against 0.8–1.1 for the GPU tiles. An earlier rule took smaller blocks whenever "tex8x8" gave
 * fewer than 8 workgroups (to feed both CPU threads); per-kernel timestamps showed that backwards at the
 * decode shapes (64 rows): 64×64×64 took 1.4–1.7 ms with "tex4x4" against 0.13–0.22 ms with one "tex8x8"
 * workgroup, 64×256×64 1.7 against 0.19–0.30, and the transposed 64×768×64 2.4 against 0.57; from 272 rows
 * up the configurations were within the ±30% noise of this shared machine. Split-K still applies below 8
 * workgroups when K is long.
 */
export function chooseTexConfig(M: number, _N: number, _batch = 1): TexConfig {
  return MATMUL_CONFIGS[M <= 16 ? "tex4x4" : "tex8x8"];
}

function texGroups(c: TexConfig, M: number, N: number): number {
  return Math.ceil(M / (c.TM * c.WY)) * Math.ceil(N / (c.TN * c.WX));
}

/**
 * The GPU heuristic: GEMV-like for M ≤ 16 (1, 4 or 16 rows per workgroup); otherwise "128x128np" if
 * 128×128 tiles give at least 128 workgroups (about one wave on a 132-SM H100/H200), counting the split-K
 * slices a single GEMM with a long K can use (see {@linkcode chooseSplitK}); else "64x32" for a short K
 * with at least 256 workgroups; else "64x64n" by the same rule as 128×128; else "64x64", or below 32
 * tiles of 64×64 "32x32" (with a long K, split) or "32x32kg4" (without). M is rows per GEMM after batch
 * folding; `batch` is the number of GEMMs in the dispatch. Configurations that do not fit the device's
 * limits are skipped. (`_f16`, both inputs f16, is accepted for callers; no choice depends on it now.)
 *
 * From sweeps on an H100 (2026-11-26, `bench:gpu --only gemmsweep,modelsweep`, kernel times from
 * timestamps):
 * - The 128×128 class: at 4096³ "128x128np" (nested tiles, no prefetch, swizzled stores) ran f32 at 39.4
 *   TFLOP/s and f16 inputs at 39.8, against 30.4–32.7 (f32) and 22.5–29.8 (f16) for "128x128",
 *   "128x128k32" and "128x128db", which this class took before. At the model shapes it was the fastest or
 *   within noise of it (4608×256×1024: 101 µs against 121–127; 4096×512×2048: 289 against 284–325).
 * - Below it, small GEMMs are bound by the latency of their k-steps rather than by FMAs. A short K (≤ 512)
 *   with at least 256 workgroups of 64×32 takes "64x32" (1152×1024×256: 31–37 µs against 39–82 for the
 *   others). "64x64n" replaced "128x64" where 64×64 tiles fill a wave with split-K: 1152×256×1024 took
 *   37.6–37.9 µs in three runs against 48.3 (256×1024×1152 TN: 38.5–39.0 against 35.0–42.6).
 * - Nested tiles lose on grids under a wave without split-K (1152×256×256: 33–39 µs against 19 in two
 *   runs, even in a third), so "64x64" stays there. Fewer than 32 tiles of 64×64: "32x32" with split-K
 *   (256×256×1152 TN: 23 µs), "32x32kg4" when K is too short to split (64×256×256, the sampling
 *   projection: 10.0–13.0 µs against 14.9–15.0).
 */
export function chooseTiledConfig(
  rt: Runtime,
  M: number,
  N: number,
  K: number,
  batch = 1,
  transB = false,
  _f16 = false,
): TileConfig | GemvConfig {
  if (M <= 16) return { kind: "gemv", rows: gemvRows(M, transB) };
  const maxSplit = batch === 1 ? Math.max(1, Math.floor(K / MIN_SPLIT_K)) : 1;
  const tilesOf = (c: TileConfig) => Math.ceil(M / c.BM) * Math.ceil(N / c.BN) * batch;
  // A big tile fills about one wave, counting the split-K slices a long K can use.
  const fills = (c: TileConfig) =>
    M >= c.BM && N >= c.BN && tilesOf(c) * maxSplit >= MIN_GROUPS && !configProblem(rt, c);
  const C = MATMUL_CONFIGS;
  if (fills(C["128x128np"])) return C["128x128np"];
  if (K <= NARROW_MAX_K && tilesOf(C["64x32"]) >= NARROW_MIN_GROUPS) return C["64x32"];
  if (fills(C["64x64n"])) return C["64x64n"];
  if (tilesOf(C["64x64"]) >= SMALL_TILES) return C["64x64"];
  return maxSplit >= 2 || configProblem(rt, C["32x32kg4"]) ? C["32x32"] : C["32x32kg4"];
}

/**
 * Split-K slices for a single GEMM (batch 1) with a tiled configuration: when its tiles give fewer than
 * 128 workgroups, K is cut into slices of at least 256 (a multiple of BK) computed as separate
 * workgroups into a scratch buffer, then summed (with the epilogue) by a second kernel; aims at about
 * 256 workgroups. 1 means no split. Typical case: weight gradients dW = Xᵀ·dY (small M·N, K = tokens).
 *
 * The texture kernel splits when it has fewer than 8 workgroups, into slices of at least 256 (a multiple
 * of 4), aiming at 8 workgroups: the CPU threads of the software adapter then all get work.
 */
export function chooseSplitK(config: MatmulConfig, M: number, N: number, K: number, batch = 1): number {
  if (config.kind === "tex") {
    const groups = texGroups(config, M, N) * batch;
    if (batch !== 1 || groups >= TEX_MIN_GROUPS) return 1;
    const want = Math.min(Math.ceil(TEX_MIN_GROUPS / groups), Math.floor(K / TEX_MIN_SPLIT_K));
    return want >= 2 ? want : 1;
  }
  if (config.kind !== "tile" || batch !== 1) return 1;
  const tiles = Math.ceil(M / config.BM) * Math.ceil(N / config.BN);
  if (tiles >= MIN_GROUPS) return 1;
  const want = Math.min(Math.floor(TARGET_GROUPS / tiles), Math.floor(K / MIN_SPLIT_K), 64);
  return want >= 2 ? want : 1;
}

// ---------------------------------------------------------------------------------------------------
// WGSL generation
// ---------------------------------------------------------------------------------------------------

const GEMV_THREADS = 256;
const GEMV_LANES = 16;
/** Rows reduced per round by the N-major gemv kernel (4 rows of 256 vec4 partials = 16 KiB). */
const GEMV_NFAST_ROUND = 4;

interface KernelFlags {
  transA: boolean;
  transB: boolean;
  /** Element types of A and B (null A: the gemv column-sum variant, where every A element is 1). */
  ta: "f32" | "f16" | null;
  tb: "f32" | "f16";
  /** vec4 global loads of A / B along their contiguous dimension; vec4 stores of C (N % 4 == 0). */
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
  /** Batch dimensions decoded in the kernel (0–4). */
  bd: number;
  bias: boolean;
  gelu: boolean;
  /** Also store the pre-activation (for the backward of the fused GELU). */
  pre: boolean;
  /** Scale the product by the uniform alpha (before bias and addend). */
  alpha?: boolean;
  /** Add a tensor of C's shape (a residual) before the activation. */
  addend?: boolean;
  /** Split-K partial: workgroup z computes K range [z·kc, min(K, (z+1)·kc)) into slice z of C. */
  split?: boolean;
}

const GELU_FNS = `
fn gelu1(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh(clamp(0.7978845608 * (x + 0.044715 * x * x * x), -15.0, 15.0)));
}
fn gelu4(x: vec4<f32>) -> vec4<f32> {
  return 0.5 * x * (1.0 + tanh(clamp(0.7978845608 * (x + 0.044715 * x * x * x), vec4<f32>(-15.0), vec4<f32>(15.0))));
}`;

function flagsKey(f: KernelFlags): string {
  const trans = `${f.transA ? "T" : "N"}${f.transB ? "T" : "N"}`;
  const vec = `v${+f.vecA}${+f.vecB}${+f.vecC}`;
  const epilogue = `${f.alpha ? "a" : ""}${f.bias ? "b" : ""}${f.addend ? "r" : ""}${f.gelu ? "g" : ""}${
    f.pre ? "p" : ""
  }`;
  return `${trans}:${f.ta ?? "1"}${f.tb}:${vec}:bd${f.bd}:${epilogue}${f.split ? ":split" : ""}`;
}

/**
 * Uniforms, bindings and the batch-offset prologue shared by the kernels; `tex`: A and B are read-only
 * storage textures of 4-element texels (rgba32float, or rgba16float for f16) instead of buffers.
 */
function header(f: KernelFlags, tex = false): { decl: string; batch: string; buffers: string[] } {
  const buffers: string[] = [];
  const decls: string[] = [];
  const bind = (name: string, type: string, access: "read" | "read_write") => {
    buffers.push(name);
    decls.push(`@group(0) @binding(${buffers.length}) var<storage, ${access}> ${name}: array<${type}>;`);
  };
  const vec = (v: boolean, t: string) => (v ? `vec4<${t}>` : t);
  const texture = (name: string, t: "f32" | "f16") => {
    buffers.push(name);
    const format = t === "f16" ? "rgba16float" : "rgba32float";
    decls.push(`@group(0) @binding(${buffers.length}) var ${name}: texture_storage_2d<${format}, read>;`);
  };
  if (tex) {
    texture("A", f.ta ?? "f32");
    texture("B", f.tb);
  } else {
    if (f.ta) bind("A", vec(f.vecA, f.ta), "read");
    bind("B", vec(f.vecB, f.tb), "read");
  }
  bind("C", vec(f.vecC, "f32"), "read_write");
  if (f.bias) bind("Bias", vec(f.vecC, "f32"), "read");
  if (f.addend) bind("R", vec(f.vecC, "f32"), "read");
  if (f.pre) bind("P", vec(f.vecC, "f32"), "read_write");
  const f16 = !tex && (f.ta === "f16" || f.tb === "f16");
  const decl = `${f16 ? "enable f16;\n" : ""}
struct U { M: u32, N: u32, K: u32, z0: u32, bs: vec4<u32>, sa: vec4<u32>, sb: vec4<u32>, kc: u32, am: u32, ak: u32, p0: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls.join("\n")}
${f.gelu ? GELU_FNS : ""}`;
  // Batch index → element offsets of A and B (innermost batch dimension last).
  let batch = `let z = wid.z + u.z0;\n  var offA = 0u;\n  var offB = 0u;\n`;
  if (f.bd === 1) batch += `  offA = z * u.sa[0];\n  offB = z * u.sb[0];\n`;
  else if (f.bd > 1) {
    batch += `  var rem = z;\n`;
    for (let d = f.bd - 1; d >= 0; d--) {
      batch += `  { let c = rem % u.bs[${d}]; rem = rem / u.bs[${d}]; ` +
        `offA += c * u.sa[${d}]; offB += c * u.sb[${d}]; }\n`;
    }
  }
  batch += `  let offC = z * u.M * u.N;\n`;
  return { decl, batch, buffers };
}

/** Epilogue for 4 consecutive columns gn..gn+3 of row gm holding `v` (a vec4<f32> expression). */
function writeQuad(f: KernelFlags, v: string, gm: string, gn: string): string {
  if (f.vecC) {
    const idx = `offC / 4u + ${gm} * (u.N / 4u) + ${gn} / 4u`;
    return `if (${gn} < u.N) {
        var v = ${v};${f.alpha ? `\n        v = v * bitcast<f32>(u.p0);` : ""}${
      f.bias ? `\n        v = v + Bias[${gn} / 4u];` : ""
    }${f.addend ? `\n        v = v + R[${idx}];` : ""}${f.pre ? `\n        P[${idx}] = v;` : ""}${
      f.gelu ? "\n        v = gelu4(v);" : ""
    }
        C[${idx}] = v;
      }`;
  }
  const comps = ["x", "y", "z", "w"].map((c, i) => {
    const n = `${gn} + ${i}u`;
    return `if (${n} < u.N) { ${writeOne(f, `${v}.${c}`, gm, n)} }`;
  });
  return `{\n        ${comps.join("\n        ")}\n      }`;
}

/** Epilogue for one element (scalar C). */
function writeOne(f: KernelFlags, v: string, gm: string, gn: string): string {
  const idx = `offC + ${gm} * u.N + ${gn}`;
  return `var s = ${v};${f.alpha ? " s = s * bitcast<f32>(u.p0);" : ""}${
    f.bias ? ` s = s + Bias[${gn}];` : ""
  }${f.addend ? ` s = s + R[${idx}];` : ""}${f.pre ? ` P[${idx}] = s;` : ""}${
    f.gelu ? " s = gelu1(s);" : ""
  } C[${idx}] = s;`;
}

function tileProgram(c: TileConfig, f: KernelFlags): Program {
  const opts = `${c.db ? ":db" : ""}${c.swizzle ? ":sw" : ""}${c.group ? `:g${c.group}` : ""}${
    c.half ? ":h" : ""
  }${c.halfSums ? ":hs" : ""}${(c.kgroups ?? 1) > 1 ? `:kg${c.kgroups}` : ""}${c.nested ? ":n" : ""}${
    c.lanes ? `:w${c.lanes}` : ""
  }${c.prefetch === false ? ":np" : ""}${c.early ? ":e" : ""}`;
  const key = `matmul:tile:${c.BM}x${c.BN}x${c.BK}:${c.TM}x${c.TN}:u${c.unroll ?? c.BK}${opts}:${
    flagsKey(f)
  }`;
  return { key, code: () => tileWgsl(c, f) };
}

function tileWgsl(c: TileConfig, f: KernelFlags): string {
  const { BM, BN, BK, TM, TN } = c;
  const TX = BN / TN, TY = BM / TM, NT = TX * TY;
  const MA = BM / 4, NB = BN / 4; // vec4s per k-row of the workgroup tiles
  const QN = BK / 4; // k quads per slice
  const bufs = c.db ? 2 : 1;
  // k-groups: group kg's tiles start at kg times one group's tiles (GA, GB vec4s).
  const KG = c.kgroups ?? 1;
  const GA = bufs * BK * MA, GB = bufs * BK * NB;
  // The nested layout: [buffer (k-group, double buffer)][k-row part: PA = BK·TM/4 of them][TY thread
  // columns] for A, [·][PB = BK·TN/4][TX] for B. `tileAt` turns a flat index into it.
  const nested = !!c.nested;
  const PA = (BK * TM) / 4, PB = (BK * TN) / 4;
  const tileAt = (S: string, R: number, P: number, flat: string) =>
    nested ? `${S}[(${flat}) / ${R * P}u][(${flat}) / ${R}u % ${P}u][(${flat}) % ${R}u]` : `${S}[${flat}]`;
  const { decl, batch } = header(f);
  const out: string[] = [];
  const emit = (s: string) => out.push(s);
  // Element type of each operand's workgroup tile (and prefetch registers).
  const tA = c.half && f.ta === "f16" ? "f16" : "f32";
  const tB = c.half && f.tb === "f16" ? "f16" : "f32";
  // XOR swizzle of the column quads in a k-row of an operand stored transposed: k-row k's quad index is
  // XORed with sw(k) = ((k / 4) · mult) & 7, so the 32 lanes of a warp (QN k-quads × 32/QN rows)
  // store to 32 distinct banks.
  const mult = Math.max(1, 8 / QN);
  const swA = !!c.swizzle && f.vecA && !f.transA && MA % 8 === 0;
  const swB = !!c.swizzle && f.vecB && f.transB && NB % 8 === 0;

  // Global → register loads. Slot i of a thread covers unit l = tid + i·NT of the tile; a unit is 4
  // elements held in one vec4 register: 4 consecutive d (M or N) at one k, except for a vec4 load along
  // K. (r, q): the unit's coordinates, fixed for the whole kernel. Stores go to the tile at `SOFF`.
  interface Slots {
    decl: string[];
    load: (k0: string) => string[];
    store: (soff: string) => string[];
  }
  const slots = (op: "A" | "B"): Slots => {
    const isA = op === "A";
    const trans = isA ? f.transA : f.transB;
    const vec = isA ? f.vecA : f.vecB;
    const t = isA ? tA : tB;
    const sw = isA ? swA : swB;
    const D = isA ? BM : BN; // tile extent along the operand's non-K dimension
    const DV = D / 4;
    const S = isA ? "As" : "Bs";
    const [RS, PS] = isA ? [TY, PA] : [TX, PB]; // the nested tile's row length and rows per buffer
    const R = isA ? "ra" : "rb";
    const dimN = isA ? "u.M" : "u.N";
    const base = isA ? "m0" : "n0";
    const off = isA ? "offA" : "offB";
    // Contiguous dimension: K for (A, not transposed) and (B, transposed), else the M/N dimension.
    const kContig = isA ? !trans : trans;
    const units = (D * BK) / 4;
    const count = Math.ceil(units / NT);
    const guard = units % NT !== 0;
    const decl: string[] = [];
    const load: string[] = [];
    const store: string[] = [];
    for (let i = 0; i < count; i++) {
      const l = `${R}l${i}`, r = `${R}r${i}`, q = `${R}q${i}`, reg = `${R}${i}`;
      decl.push(`let ${l} = tid + ${i * NT}u;`);
      decl.push(`var ${reg} = vec4<${t}>(0.0);`);
      let body: string, st: string;
      if (vec && kContig) {
        // r = d, q = k quad: one vec4 along K, stored transposed (4 scalar stores).
        decl.push(`let ${r} = ${l} / ${QN}u;`, `let ${q} = ${l} % ${QN}u;`);
        const col = sw ? `((${r} / 4u) ^ ((${q} * ${mult}u) & 7u))` : `${r} / 4u`;
        decl.push(`let ${R}c${i} = ${col};`);
        body = `let gd = ${base} + ${r}; let gk = k0 + ${q} * 4u; ` +
          `if (gd < ${dimN} && gk < kEnd) { ${reg} = vec4<${t}>(${op}[${off} / 4u + gd * (u.K / 4u) + gk / 4u]); }`;
        st = [0, 1, 2, 3].map((cc) =>
          `${tileAt(S, RS, PS, `SOFF(${q} * 4u + ${cc}u) * ${DV}u + ${R}c${i}`)}[${r} % 4u] = ${reg}.${
            "xyzw"[cc]
          };`
        )
          .join(" ");
      } else if (vec) {
        // r = k, q = d quad: one vec4 along M/N.
        decl.push(`let ${r} = ${l} / ${DV}u;`, `let ${q} = ${l} % ${DV}u;`);
        body = `let gk = k0 + ${r}; let gd = ${base} + ${q} * 4u; ` +
          `if (gk < kEnd && gd < ${dimN}) { ${reg} = vec4<${t}>(${op}[${off} / 4u + gk * (${dimN} / 4u) + gd / 4u]); }`;
        st = `${tileAt(S, RS, PS, `SOFF${r} * ${DV}u + ${q}`)} = ${reg};`;
      } else {
        // r = k, q = d quad: 4 scalar loads. Threads run along the contiguous dimension (k when K is
        // contiguous, the d quads otherwise) so that each load instruction is coalesced.
        if (kContig) decl.push(`let ${r} = ${l} % ${BK}u;`, `let ${q} = ${l} / ${BK}u;`);
        else decl.push(`let ${r} = ${l} / ${DV}u;`, `let ${q} = ${l} % ${DV}u;`);
        const at = (cc: number) =>
          kContig ? `${off} + (gd + ${cc}u) * u.K + gk` : `${off} + gk * ${dimN} + gd + ${cc}u`;
        body = `let gk = k0 + ${r}; let gd = ${base} + ${q} * 4u; if (gk < kEnd) { ` +
          [0, 1, 2, 3].map((cc) =>
            `if (gd + ${cc}u < ${dimN}) { ${reg}.${"xyzw"[cc]} = ${t}(${op}[${at(cc)}]); }`
          )
            .join(" ") +
          " }";
        st = `${tileAt(S, RS, PS, `SOFF${r} * ${DV}u + ${q}`)} = ${reg};`;
      }
      const full = (k0: string) => `{ let k0 = ${k0}; ${reg} = vec4<${t}>(0.0); ${body} }`;
      load.push(guard ? `if (${l} < ${units}u) ${full("K0")}` : full("K0"));
      store.push(guard ? `if (${l} < ${units}u) { ${st} }` : st);
    }
    return {
      decl,
      load: (k0: string) => load.map((x) => x.replace("K0", k0)),
      store: (soff: string) => store.map((x) => x.replaceAll("SOFF", soff)),
    };
  };
  const sa = slots("A"), sb = slots("B");
  const grouped = c.group && c.group > 1;

  emit(`${decl}
var<workgroup> As: ${
    nested ? `array<array<array<vec4<${tA}>, ${TY}>, ${PA}>, ${KG * bufs}>` : `array<vec4<${tA}>, ${KG * GA}>`
  };
var<workgroup> Bs: ${
    nested ? `array<array<array<vec4<${tB}>, ${TX}>, ${PB}>, ${KG * bufs}>` : `array<vec4<${tB}>, ${KG * GB}>`
  };${KG > 1 ? `\nvar<workgroup> Red: array<vec4<f32>, ${(BM * BN) / 4}>;` : ""}

@compute @workgroup_size(${NT * KG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) ${KG > 1 ? "lid" : "tid"}: u32${
    grouped ? ", @builtin(num_workgroups) nwg: vec3u" : ""
  }) {
  ${batch}`);
  if (KG > 1) {
    // tid: the thread within its k-group; gA, gB: the group's workgroup tiles.
    emit(`  let tid = lid % ${NT}u;
  let kg = lid / ${NT}u;
  let gA = kg * ${GA}u;
  let gB = kg * ${GB}u;`);
  }
  if (grouped) {
    // Strips of G tile rows: consecutive workgroups cover G rows of one tile column, then the next column.
    emit(`  let gsz = ${c.group}u * nwg.x;
  let pid = wid.y * nwg.x + wid.x;
  let g0 = (pid / gsz) * ${c.group}u;
  let gh = min(nwg.y - g0, ${c.group}u);
  let m0 = (g0 + (pid % gsz) % gh) * ${BM}u;
  let n0 = ((pid % gsz) / gh) * ${BN}u;`);
  } else {
    emit(`  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;`);
  }
  if (c.lanes) {
    // Warps of lanes × 32/lanes threads, laid out row-major over the thread grid.
    const L = c.lanes;
    emit(`  let lane = tid % 32u;
  let warp = tid / 32u;
  let tx = (warp % ${TX / L}u) * ${L}u + lane % ${L}u;
  let ty = (warp / ${TX / L}u) * ${32 / L}u + lane / ${L}u;`);
  } else {
    emit(`  let tx = tid % ${TX}u;
  let ty = tid / ${TX}u;`);
  }
  for (const s of [...sa.decl, ...sb.decl]) emit(`  ${s}`);
  for (let m = 0; m < TM; m++) {
    for (let j = 0; j < TN / 4; j++) emit(`  var acc${m}_${j} = vec4<f32>(0.0);`);
  }
  // With k-groups, group kg's iteration t covers k-step t·KG + kg; every group runs the same iterations
  // (the barriers need it), and a k-step past the end loads zeros (the loads check k < kEnd).
  emit(`  let kBegin = ${f.split ? "z * u.kc" : "0u"};
  let kEnd = ${f.split ? "min(u.K, kBegin + u.kc)" : "u.K"};
  let nt = (kEnd - kBegin + ${BK * KG - 1}u) / ${BK * KG}u;`);
  const first = KG > 1 ? `kBegin + kg * ${BK}u` : "kBegin";
  const prefetch = c.prefetch !== false;
  if (prefetch || c.db) { for (const s of [...sa.load(first), ...sb.load(first)]) emit(`  ${s}`); }
  const next = KG > 1 ? `kBegin + ((t + 1u) * ${KG}u + kg) * ${BK}u` : `kBegin + (t + 1u) * ${BK}u`;
  // Store offsets of the (single-buffered) tiles: the group's own with k-groups.
  const soA = KG > 1 ? "gA + " : "", soB = KG > 1 ? "gB + " : "";
  if (c.db) {
    // Slice t lives in buffer t & 1. Iteration t: barrier (slice t stored, slice t − 1 consumed by all),
    // prefetch t + 1 into registers, compute t, store t + 1 into the other buffer.
    for (const s of [...sa.store(""), ...sb.store("")]) emit(`  ${s}`);
    emit(`  for (var t = 0u; t < nt; t++) {
    workgroupBarrier();
    let oA = (t & 1u) * ${BK * MA}u;
    let oB = (t & 1u) * ${BK * NB}u;`);
    if (prefetch) {
      emit(`    if (t + 1u < nt) {`);
      for (const s of [...sa.load(next), ...sb.load(next)]) emit(`      ${s}`);
      emit(`    }`);
    }
  } else {
    const cur = KG > 1 ? `kBegin + (t * ${KG}u + kg) * ${BK}u` : `kBegin + t * ${BK}u`;
    emit(`  for (var t = 0u; t < nt; t++) {`);
    if (!prefetch && c.early) { for (const s of [...sa.load(cur), ...sb.load(cur)]) emit(`    ${s}`); }
    emit(`    workgroupBarrier();`);
    if (!prefetch && !c.early) { for (const s of [...sa.load(cur), ...sb.load(cur)]) emit(`    ${s}`); }
    for (const s of [...sa.store(soA), ...sb.store(soB)]) emit(`    ${s}`);
    emit(`    workgroupBarrier();`);
    if (prefetch) {
      emit(`    if (t + 1u < nt) {`);
      for (const s of [...sa.load(next), ...sb.load(next)]) emit(`      ${s}`);
      emit(`    }`);
    }
  }
  // The BK-deep step, unrolled U k-steps at a time: TM/4 vec4 reads of A, TN/4 of B, TM·TN/4 vec4 FMAs
  // per k. With U < BK a loop of constant trip count BK/U runs the unrolled blocks.
  const U = c.unroll ?? BK;
  if (U < BK) emit(`    for (var kb = 0u; kb < ${BK / U}u; kb++) {`);
  const oA = c.db ? "oA + " : soA, oB = c.db ? "oB + " : soB;
  const kbA = U < BK ? `kb * ${U * MA}u + ` : "", kbB = U < BK ? `kb * ${U * NB}u + ` : "";
  // Nested reads: the buffer (one per k-step or k-group) and the row of the unrolled block.
  const bufIx = c.db ? "t & 1u" : KG > 1 ? "kg" : "0u";
  const kbR = (T: number) => (U < BK ? `kb * ${(U * T) / 4}u + ` : "");
  // The swizzle of k-row kk of the block (a constant when the whole step is unrolled).
  const swz = (kk: number) =>
    U < BK ? `(((kb * ${U}u + ${kk}u) / 4u * ${mult}u) & 7u)` : `${((kk >> 2) * mult) & 7}u`;
  // halfSums: the block's products go to f16 partial sums h…, added to the f32 accumulators after it.
  const halfSums = !!c.halfSums && tA === "f16" && tB === "f16";
  const wideA = tA === "f16" && !halfSums ? (x: string) => `vec4<f32>(${x})` : (x: string) => x;
  const wideB = tB === "f16" && !halfSums ? (x: string) => `vec4<f32>(${x})` : (x: string) => x;
  if (halfSums) {
    const hs: string[] = [];
    for (let m = 0; m < TM; m++) {
      for (let j = 0; j < TN / 4; j++) hs.push(`var h${m}_${j} = vec4<f16>(0.0);`);
    }
    emit(`    {\n    ${hs.join(" ")}`);
  }
  for (let kk = 0; kk < U; kk++) {
    const body: string[] = [];
    for (let i = 0; i < TM / 4; i++) {
      const col = swA ? `((${i * TY}u + ty) ^ ${swz(kk)})` : `${i * TY}u + ty`;
      const read = nested
        ? `As[${bufIx}][${kbR(TM)}${(kk * TM) / 4 + i}u][${swA ? `ty ^ ${swz(kk)}` : "ty"}]`
        : `As[${oA}${kbA}${kk * MA}u + ${col}]`;
      body.push(`let a${i} = ${wideA(read)};`);
    }
    for (let j = 0; j < TN / 4; j++) {
      const col = swB ? `((${j * TX}u + tx) ^ ${swz(kk)})` : `${j * TX}u + tx`;
      const read = nested
        ? `Bs[${bufIx}][${kbR(TN)}${(kk * TN) / 4 + j}u][${swB ? `tx ^ ${swz(kk)}` : "tx"}]`
        : `Bs[${oB}${kbB}${kk * NB}u + ${col}]`;
      body.push(`let b${j} = ${wideB(read)};`);
    }
    for (let i = 0; i < TM / 4; i++) {
      for (let r = 0; r < 4; r++) {
        for (let j = 0; j < TN / 4; j++) {
          const acc = `${halfSums ? "h" : "acc"}${i * 4 + r}_${j}`;
          body.push(`${acc} = fma(b${j}, vec4<${halfSums ? "f16" : "f32"}>(a${i}.${"xyzw"[r]}), ${acc});`);
        }
      }
    }
    emit(`    {\n      ${body.join("\n      ")}\n    }`);
  }
  if (halfSums) {
    const adds: string[] = [];
    for (let m = 0; m < TM; m++) {
      for (let j = 0; j < TN / 4; j++) adds.push(`acc${m}_${j} += vec4<f32>(h${m}_${j});`);
    }
    emit(`    ${adds.join(" ")}\n    }`);
  }
  if (U < BK) emit(`    }`);
  if (c.db) {
    emit(`    if (t + 1u < nt) {`);
    if (!prefetch) { for (const s of [...sa.load(next), ...sb.load(next)]) emit(`      ${s}`); }
    const so = (o: string) => `${o} ^ ${o.endsWith("A") ? BK * MA : BK * NB}u) + `;
    for (const s of [...sa.store(`(${so("oA")}`), ...sb.store(`(${so("oB")}`)]) emit(`      ${s}`);
    emit(`    }`);
  }
  emit(`  }`);
  if (KG > 1) {
    // Group r's sums go through Red to group 0, one group at a time (a fixed order of additions).
    const slot = (m: number, j: number) => `${(m * (TN / 4) + j) * NT}u + tid`;
    const accs: [number, number][] = [];
    for (let m = 0; m < TM; m++) for (let j = 0; j < TN / 4; j++) accs.push([m, j]);
    emit(`  for (var r = 1u; r < ${KG}u; r++) {
    workgroupBarrier();
    if (kg == r) {
      ${accs.map(([m, j]) => `Red[${slot(m, j)}] = acc${m}_${j};`).join(" ")}
    }
    workgroupBarrier();
    if (kg == 0u) {
      ${accs.map(([m, j]) => `acc${m}_${j} += Red[${slot(m, j)}];`).join(" ")}
    }
  }
  if (kg != 0u) { return; }`);
  }
  // Epilogue: thread rows (ty + i·TY)·4 + r, column quads (tx + j·TX)·4.
  for (let i = 0; i < TM / 4; i++) {
    for (let r = 0; r < 4; r++) {
      const lines: string[] = [];
      for (let j = 0; j < TN / 4; j++) {
        lines.push(`{
      let gn = n0 + (tx + ${j * TX}u) * 4u;
      ${writeQuad(f, `acc${i * 4 + r}_${j}`, "gm", "gn")}
    }`);
      }
      emit(`  {
    let gm = m0 + (ty + ${i * TY}u) * 4u + ${r}u;
    if (gm < u.M) {
    ${lines.join("\n    ")}
    }
  }`);
    }
  }
  emit(`}`);
  return out.join("\n");
}

function texProgram(c: TexConfig, f: KernelFlags): Program {
  return {
    key: `matmul:tex:${c.TM}x${c.TN}:w${c.WX}x${c.WY}:${flagsKey(f)}`,
    code: () => texWgsl(c, f),
  };
}

/**
 * The texture kernel: invocation (x, y) computes rows m0 = y·TM… and columns n0 = x·TN… of C with TM·TN/4
 * vec4 accumulators, reading A and B as 4-element texels (linear texel t at (t % W, t / W), W =
 * TEXEL_WIDTH). An operand contiguous along K yields 4 k-steps per texel (one texel per row per 4 k);
 * one contiguous along M or N yields 4 rows/columns per texel (TM/4 or TN/4 texels per k). Either way a
 * k-step loads (TM + TN)/4 texels for TM·TN FMAs; in llvmpipe's SIMD-across-invocations code the FMAs
 * are scalar per invocation, so vec4 only shapes the loads. Rows and columns past the edge are clamped
 * on load and skipped on store. K advances 4 at a time when an operand is K-contiguous (K % 4 == 0),
 * else 1 at a time (unrolled by 4, with a tail).
 */
function texWgsl(c: TexConfig, f: KernelFlags): string {
  const { TM, TN } = c;
  const { decl, batch } = header(f, true);
  const W = TEXEL_WIDTH, LW = Math.log2(W);
  const aK = !f.transA, bK = f.transB; // K-contiguous operands
  const lines: string[] = [];
  const emit = (x: string) => lines.push(x);
  emit(`${decl}
fn ldA(t: u32) -> vec4<f32> { return vec4<f32>(textureLoad(A, vec2u(t & ${W - 1}u, t >> ${LW}u))); }
fn ldB(t: u32) -> vec4<f32> { return vec4<f32>(textureLoad(B, vec2u(t & ${W - 1}u, t >> ${LW}u))); }

@compute @workgroup_size(${c.WX}, ${c.WY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(global_invocation_id) gid: vec3u) {
  ${batch}
  let m0 = gid.y * ${TM}u;
  let n0 = gid.x * ${TN}u;
  let kBegin = ${f.split ? "z * u.kc" : "0u"};
  let kEnd = ${f.split ? "min(u.K, kBegin + u.kc)" : "u.K"};
  let sA = u.M / 4u; // texels per k-row of an M-contiguous A (and of an N-contiguous B)
  let sB = u.N / 4u;`);
  // Texel bases: per row (K-contiguous) or per quad of rows (M/N-contiguous), clamped to the matrix.
  if (aK) {
    for (let r = 0; r < TM; r++) emit(`  let ta${r} = offA / 4u + min(m0 + ${r}u, u.M - 1u) * (u.K / 4u);`);
  } else {for (let i = 0; i < TM / 4; i++) {
      emit(`  let ta${i} = offA / 4u + min(m0 / 4u + ${i}u, u.M / 4u - 1u);`);
    }}
  if (bK) {
    for (let n = 0; n < TN; n++) emit(`  let tb${n} = offB / 4u + min(n0 + ${n}u, u.N - 1u) * (u.K / 4u);`);
  } else {for (let j = 0; j < TN / 4; j++) {
      emit(`  let tb${j} = offB / 4u + min(n0 / 4u + ${j}u, u.N / 4u - 1u);`);
    }}
  for (let r = 0; r < TM; r++) for (let j = 0; j < TN / 4; j++) emit(`  var acc${r}_${j} = vec4<f32>(0.0);`);
  const X = "xyzw";
  /** The FMAs of k-step `kk` of a block whose K-contiguous texels are loaded (a k-quad) */
  const step = (kk: number, kv: string): string[] => {
    const out: string[] = [];
    // M/N-contiguous operands: this k-step's texels.
    if (!aK) {
      for (let i = 0; i < TM / 4; i++) out.push(`let a${i}_${kk} = ldA(ta${i} + (${kv}) * (u.M / 4u));`);
    }
    if (!bK) {
      for (let j = 0; j < TN / 4; j++) out.push(`let b${j}_${kk} = ldB(tb${j} + (${kv}) * (u.N / 4u));`);
    }
    const a = (r: number) => (aK ? `a${r}.${X[kk]}` : `a${r >> 2}_${kk}.${X[r & 3]}`);
    const b = (j: number) =>
      bK ? `vec4<f32>(${[0, 1, 2, 3].map((q) => `b${4 * j + q}.${X[kk]}`).join(", ")})` : `b${j}_${kk}`;
    for (let j = 0; j < TN / 4; j++) if (bK) out.push(`let bq${j}_${kk} = ${b(j)};`);
    for (let r = 0; r < TM; r++) {
      for (let j = 0; j < TN / 4; j++) {
        out.push(`acc${r}_${j} = fma(vec4<f32>(${a(r)}), ${bK ? `bq${j}_${kk}` : b(j)}, acc${r}_${j});`);
      }
    }
    return out;
  };
  if (aK || bK) {
    // K % 4 == 0 (an operand's contiguous dimension), and split slices start at multiples of 4.
    const body: string[] = [];
    if (aK) { for (let r = 0; r < TM; r++) body.push(`let a${r} = ldA(ta${r} + k / 4u);`); }
    if (bK) { for (let n = 0; n < TN; n++) body.push(`let b${n} = ldB(tb${n} + k / 4u);`); }
    for (let kk = 0; kk < 4; kk++) body.push(...step(kk, `k + ${kk}u`));
    emit(`  for (var k = kBegin; k < kEnd; k += 4u) {\n    ${body.join("\n    ")}\n  }`);
  } else {
    const body: string[] = [];
    for (let kk = 0; kk < 4; kk++) body.push(...step(kk, `k + ${kk}u`));
    emit(`  var k = kBegin;
  for (; k + 4u <= kEnd; k += 4u) {\n    ${body.join("\n    ")}\n  }
  for (; k < kEnd; k++) {\n    ${step(0, "k").join("\n    ")}\n  }`);
  }
  for (let r = 0; r < TM; r++) {
    const quads = [];
    for (let j = 0; j < TN / 4; j++) {
      quads.push(`{
      let gn = n0 + ${4 * j}u;
      ${writeQuad(f, `acc${r}_${j}`, "gm", "gn")}
    }`);
    }
    emit(`  {
    let gm = m0 + ${r}u;
    if (gm < u.M) {
    ${quads.join("\n    ")}
    }
  }`);
  }
  emit("}");
  return lines.join("\n");
}

function gemvProgram(rows: number, f: KernelFlags): Program {
  // A's layout is a runtime stride pair (u.am, u.ak) except for vec4 loads, so transA is not in the key.
  const g = { ...f, transA: false };
  return { key: `matmul:gemv:r${rows}:${flagsKey(g)}`, code: () => gemvWgsl(rows, g) };
}

function gemvWgsl(R: number, f: KernelFlags): string {
  const { decl, batch } = header(f);
  const L = GEMV_LANES;
  const rows = [...Array(R).keys()];
  // Scalar reads of A through its strides along m and k (u.am, u.ak), whichever way it is stored.
  const aRead = (row: string, k: string) => `f32(A[offA + ${row} * u.am + (${k}) * u.ak])`;
  const lines: string[] = [];
  if (!f.transB) {
    // B is [K, N], contiguous along n: 16 column quads × 16 k-lanes; each thread 4 columns as a vec4.
    const bRead = f.vecB
      ? `vec4<f32>(B[offB / 4u + k * (u.N / 4u) + nq])`
      : `vec4<f32>(${[0, 1, 2, 3].map((c) => `f32(B[offB + k * u.N + nc${c}])`).join(", ")})`;
    lines.push(`var<workgroup> red: array<vec4<f32>, ${GEMV_THREADS * Math.min(R, GEMV_NFAST_ROUND)}>;

@compute @workgroup_size(${GEMV_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${batch}
  let m0 = wid.y * ${R}u;
  let cq = tid % ${L}u;
  let ks = tid / ${L}u;
  let n = wid.x * ${4 * L}u + cq * 4u;
  ${
      f.vecB
        ? "let nq = min(n / 4u, u.N / 4u - 1u);"
        : [0, 1, 2, 3].map((c) => `let nc${c} = min(n + ${c}u, u.N - 1u);`).join("\n  ")
    }
  ${f.ta ? rows.map((r) => `let mr${r} = min(m0 + ${r}u, u.M - 1u);`).join("\n  ") : ""}
  ${rows.map((r) => `var acc${r} = vec4<f32>(0.0);`).join("\n  ")}
  for (var k = ks; k < u.K; k += ${L}u) {
    let b = ${bRead};
    ${
      rows.map((r) =>
        f.ta ? `acc${r} = fma(b, vec4<f32>(${aRead(`mr${r}`, "k")}), acc${r});` : `acc${r} += b;`
      )
        .join("\n    ")
    }
  }`);
    // Reduction over the 16 k-lanes, RR rows per round: store, then 16·RR threads sum 16 partials each.
    const RR = Math.min(R, GEMV_NFAST_ROUND);
    for (let q = 0; q < R / RR; q++) {
      for (let rr = 0; rr < RR; rr++) lines.push(`  red[${rr * GEMV_THREADS}u + tid] = acc${q * RR + rr};`);
      const sum = [...Array(L).keys()].map((k) => `red[base + ${k * L}u]`).join(" + ");
      lines.push(`  workgroupBarrier();
  if (tid < ${RR * L}u) {
    let rr = tid / ${L}u;
    let base = rr * ${GEMV_THREADS}u + tid % ${L}u;
    let gm = m0 + ${q * RR}u + rr;
    let gn = wid.x * ${4 * L}u + (tid % ${L}u) * 4u;
    if (gm < u.M) {
      let sum = ${sum};
      ${writeQuad(f, "sum", "gm", "gn")}
    }
  }`);
      if (q + 1 < R / RR) lines.push("  workgroupBarrier();");
    }
  } else {
    // B is [N, K], contiguous along k: 16 k-lanes × 16 columns; vec4 along k when K % 4 == 0.
    const v = f.vecB;
    const kStep = v ? "u.K / 4u" : "u.K";
    const bRead = v ? `vec4<f32>(B[offB / 4u + nn * (u.K / 4u) + k])` : `f32(B[offB + nn * u.K + k])`;
    const aReadK = (row: string) => {
      if (!v) return aRead(row, "k");
      if (f.vecA) return `vec4<f32>(A[offA / 4u + ${row} * (u.K / 4u) + k])`;
      return `vec4<f32>(${[0, 1, 2, 3].map((c) => aRead(row, `k * 4u + ${c}u`)).join(", ")})`;
    };
    lines.push(`var<workgroup> red: array<f32, ${GEMV_THREADS * R}>;

@compute @workgroup_size(${GEMV_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${batch}
  let m0 = wid.y * ${R}u;
  let ks = tid % ${L}u;
  let n = wid.x * ${GEMV_THREADS / L}u + tid / ${L}u;
  let nn = min(n, u.N - 1u);
  ${rows.map((r) => `let mr${r} = min(m0 + ${r}u, u.M - 1u);`).join("\n  ")}
  ${rows.map((r) => `var acc${r} = ${v ? "vec4<f32>(0.0)" : "0.0"};`).join("\n  ")}
  for (var k = ks; k < ${kStep}; k += ${L}u) {
    let b = ${bRead};
    ${rows.map((r) => `acc${r} = fma(b, ${aReadK(`mr${r}`)}, acc${r});`).join("\n    ")}
  }`);
    // Reduction over the 16 k-lanes of all R rows at once: partials stored lane-major, so the 16·R
    // summing threads (one per row and column) read consecutive words.
    for (const r of rows) {
      lines.push(
        `  red[${r * GEMV_THREADS}u + ks * ${L}u + tid / ${L}u] = ${
          v ? `dot(acc${r}, vec4<f32>(1.0))` : `acc${r}`
        };`,
      );
    }
    const sum = [...Array(L).keys()].map((k) => `red[base + ${k * L}u]`).join(" + ");
    lines.push(`  workgroupBarrier();
  if (tid < ${R * L}u) {
    let base = (tid / ${L}u) * ${GEMV_THREADS}u + tid % ${L}u;
    let gm = m0 + tid / ${L}u;
    let gn = wid.x * ${GEMV_THREADS / L}u + tid % ${L}u;
    if (gm < u.M && gn < u.N) {
      ${writeOne(f, `(${sum})`, "gm", "gn")}
    }
  }`);
  }
  lines.push("}");
  return `${decl}\n${lines.join("\n")}`;
}

// ---------------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------------

interface Operand {
  buffer: GPUBuffer;
  dtype: DType;
  /** Elements (the extent the texture kernel copies into a texture). */
  size: number;
}

/** One (batched) GEMM: C[z] = op(A[z])·op(B[z]) (+ bias, GELU) for z over the batch. */
interface GemmSpec {
  /** null: every element of A is 1 (column sums of B). */
  a: Operand | null;
  b: Operand;
  out: GPUBuffer;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Merged batch dimensions (≤ 4) with element strides of A and B (0 where broadcast). */
  batch: { dims: number[]; sa: number[]; sb: number[] };
  bias?: GPUBuffer;
  /** A tensor of C's layout added before the activation. */
  addend?: GPUBuffer;
  /** Scale of the product (before bias and addend); default 1. */
  alpha?: number;
  pre?: GPUBuffer;
  gelu: boolean;
  config?: MatmulConfig;
  /** Split-K slices (tiled configurations, batch 1); default from {@linkcode chooseSplitK}. */
  splitK?: number;
}

function gemm(rt: Runtime, s: GemmSpec): void {
  const count = numel(s.batch.dims);
  if (s.M === 0 || s.N === 0 || count === 0) return;
  const f16A = s.a?.dtype === "f16", f16B = s.b.dtype === "f16";
  let config = s.config ?? chooseMatmulConfig(rt, s.M, s.N, s.K, count, s.transB, f16A && f16B);
  if (config.kind === "tex" && !texUsable(rt, s)) {
    config = chooseTiledConfig(rt, s.M, s.N, s.K, count, s.transB, f16A && f16B);
  }
  if (config.kind === "gemv" && config.rows === 0) config = { kind: "gemv", rows: gemvRows(s.M, s.transB) };
  const problem = configProblem(rt, config, f16A, f16B);
  if (problem) throw new RangeError(`matmul: ${problem}`);
  if (!s.a && (config.kind !== "gemv" || s.transB)) {
    throw new Error("matmul: all-ones A needs gemv, N-major B");
  }
  const ta = s.a ? s.a.dtype as "f32" | "f16" : null;
  const tb = s.b.dtype as "f32" | "f16";
  const flags: KernelFlags = {
    transA: s.transA,
    transB: s.transB,
    ta,
    tb,
    vecA: false,
    vecB: false,
    vecC: s.N % 4 === 0,
    bd: s.batch.dims.length,
    bias: !!s.bias,
    gelu: s.gelu,
    pre: !!s.pre,
    alpha: s.alpha !== undefined && s.alpha !== 1,
    addend: !!s.addend,
  };
  if (config.kind === "tex") return texGemm(rt, s, config, flags);
  let program: Program;
  let groups: [number, number];
  const splits = config.kind === "tile" && count === 1
    ? Math.max(1, Math.min(s.splitK ?? chooseSplitK(config, s.M, s.N, s.K), Math.ceil(s.K / config.BK)))
    : 1;
  if (splits > 1 && config.kind === "tile") {
    // Each slice covers kc (a multiple of BK) of K; partial products go to scratch, then one reduction
    // kernel sums them and applies the epilogue.
    const kc = Math.ceil(s.K / splits / config.BK) * config.BK;
    const n = Math.ceil(s.K / kc);
    const partial = rt.acquire(n * s.M * s.N * 4);
    const part = partialFlags(flags);
    part.vecA = (s.transA ? s.M : s.K) % 4 === 0;
    part.vecB = (s.transB ? s.K : s.N) % 4 === 0;
    const u = gemmUniforms(s.M, s.N, s.K);
    u[16] = kc;
    rt.dispatch(
      tileProgram(config, part),
      [...(s.a ? [s.a.buffer] : []), s.b.buffer, partial],
      [Math.ceil(s.N / config.BN), Math.ceil(s.M / config.BM), n],
      u,
    );
    splitReduce(rt, partial, n, s);
    rt.release(partial);
    return;
  }
  if (config.kind === "tile") {
    flags.vecA = (s.transA ? s.M : s.K) % 4 === 0;
    flags.vecB = (s.transB ? s.K : s.N) % 4 === 0;
    program = tileProgram(config, flags);
    groups = [Math.ceil(s.N / config.BN), Math.ceil(s.M / config.BM)];
  } else {
    if (s.transB) {
      flags.vecC = false; // one column per thread: scalar stores
      flags.vecB = s.K % 4 === 0;
      flags.vecA = !s.transA && flags.vecB && !!s.a;
      groups = [Math.ceil(s.N / (GEMV_THREADS / GEMV_LANES)), Math.ceil(s.M / config.rows)];
    } else {
      flags.vecB = s.N % 4 === 0;
      groups = [Math.ceil(s.N / (4 * GEMV_LANES)), Math.ceil(s.M / config.rows)];
    }
    program = gemvProgram(config.rows, flags);
  }
  dispatchBatched(rt, s, program, [...(s.a ? [s.a.buffer] : []), s.b.buffer], groups);
}

/**
 * The 20 words of the kernels' uniform block `U` (M, N, K, z0, bs, sa, sb, kc, am, ak, alpha bits) with
 * M, N, K set, one batch of size 1 and the rest zero.
 */
function gemmUniforms(M: number, N: number, K: number): number[] {
  return [M, N, K, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
}

/** Dispatches `program` over the batch (chunked along z), with the epilogue buffers after C. */
function dispatchBatched(
  rt: Runtime,
  s: GemmSpec,
  program: Program,
  inputs: Binding[],
  groups: [number, number],
): void {
  const count = numel(s.batch.dims);
  const buffers = [...inputs, s.out];
  if (s.bias) buffers.push(s.bias);
  if (s.addend) buffers.push(s.addend);
  if (s.pre) buffers.push(s.pre);
  const maxZ = rt.maxWorkgroups;
  const u = gemmUniforms(s.M, s.N, s.K);
  u[17] = s.transA ? 1 : s.K; // A's strides along m and k (gemv)
  u[18] = s.transA ? s.M : 1;
  u[19] = f32Bits(s.alpha ?? 1);
  const { dims, sa, sb } = s.batch;
  for (let i = 0; i < dims.length; i++) {
    u[4 + i] = dims[i];
    u[8 + i] = sa[i];
    u[12 + i] = sb[i];
  }
  for (let z0 = 0; z0 < count; z0 += maxZ) {
    u[3] = z0; // the runtime copies the words at each dispatch
    rt.dispatch(program, buffers, [groups[0], groups[1], Math.min(maxZ, count - z0)], u);
  }
}

/** Whether the texture kernel can run a GEMM: both operands given, contiguous dimensions multiples of 4. */
function texUsable(rt: Runtime, s: GemmSpec): boolean {
  const max = TEXEL_WIDTH * (rt.gpu.limits.maxTextureDimension2D ?? 8192);
  return !!s.a && (s.transA ? s.M : s.K) % 4 === 0 && (s.transB ? s.K : s.N) % 4 === 0 &&
    s.a.size / 4 <= max && s.b.size / 4 <= max;
}

const texelFormat = (t: DType) => (t === "f16" ? "rgba16float" : "rgba32float");

/** The texture kernel: copies A and B into pooled textures, then one dispatch (or split-K + reduction). */
function texGemm(rt: Runtime, s: GemmSpec, config: TexConfig, flags: KernelFlags): void {
  const a = s.a!;
  const count = numel(s.batch.dims);
  flags.vecA = flags.vecB = true;
  const texA = rt.texels(a.buffer, a.size / 4, texelFormat(a.dtype));
  const texB = rt.texels(s.b.buffer, s.b.size / 4, texelFormat(s.b.dtype));
  const groups: [number, number] = [
    Math.ceil(s.N / (config.TN * config.WX)),
    Math.ceil(s.M / (config.TM * config.WY)),
  ];
  const splits = count === 1
    ? Math.max(1, Math.min(s.splitK ?? chooseSplitK(config, s.M, s.N, s.K), Math.ceil(s.K / 4)))
    : 1;
  if (splits > 1) {
    // Slices of kc (a multiple of 4, so K-contiguous texels never straddle two slices) into scratch.
    const kc = Math.ceil(s.K / splits / 4) * 4;
    const n = Math.ceil(s.K / kc);
    const partial = rt.acquire(n * s.M * s.N * 4);
    const part = partialFlags(flags);
    const u = gemmUniforms(s.M, s.N, s.K);
    u[16] = kc;
    rt.dispatch(texProgram(config, part), [texA, texB, partial], [...groups, n], u);
    splitReduce(rt, partial, n, s);
    rt.release(partial);
  } else {
    dispatchBatched(rt, s, texProgram(config, flags), [texA, texB], groups);
  }
  rt.releaseTexels(texA);
  rt.releaseTexels(texB);
}

/** The flags of a split-K partial product: no epilogue (the reduction applies it) and no batch. */
function partialFlags(f: KernelFlags): KernelFlags {
  return { ...f, bias: false, gelu: false, pre: false, alpha: false, addend: false, bd: 0, split: true };
}

function splitReduceProgram(
  vec: boolean,
  bias: boolean,
  gelu: boolean,
  pre: boolean,
  alpha: boolean,
  addend: boolean,
): Program {
  const t = vec ? "vec4<f32>" : "f32";
  return {
    key: `matmul:split-reduce:${+vec}${+bias}${+gelu}${+pre}${+alpha}${+addend}`,
    code: () => {
      const decls = [`@group(0) @binding(1) var<storage, read> S: array<${t}>;`];
      decls.push(`@group(0) @binding(2) var<storage, read_write> C: array<${t}>;`);
      if (bias) decls.push(`@group(0) @binding(${decls.length + 1}) var<storage, read> Bias: array<${t}>;`);
      if (addend) decls.push(`@group(0) @binding(${decls.length + 1}) var<storage, read> R: array<${t}>;`);
      if (pre) decls.push(`@group(0) @binding(${decls.length + 1}) var<storage, read_write> P: array<${t}>;`);
      return `struct U { n: u32, cols: u32, slices: u32, p0: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls.join("\n")}
${gelu ? GELU_FNS : ""}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  var v = S[i];
  for (var s = 1u; s < u.slices; s++) { v += S[s * u.n + i]; }
  ${alpha ? "v *= bitcast<f32>(u.p0);" : ""}
  ${bias ? "v += Bias[i % u.cols];" : ""}
  ${addend ? "v += R[i];" : ""}
  ${pre ? "P[i] = v;" : ""}
  ${gelu ? `v = gelu${vec ? 4 : 1}(v);` : ""}
  C[i] = v;
}`;
    },
  };
}

/** Sums the split-K slices of `partial` into the output, applying the epilogue. */
function splitReduce(rt: Runtime, partial: GPUBuffer, slices: number, s: GemmSpec): void {
  const vec = s.N % 4 === 0;
  const n = (s.M * s.N) / (vec ? 4 : 1), cols = s.N / (vec ? 4 : 1);
  const buffers = [partial, s.out];
  if (s.bias) buffers.push(s.bias);
  if (s.addend) buffers.push(s.addend);
  if (s.pre) buffers.push(s.pre);
  const alpha = s.alpha !== undefined && s.alpha !== 1;
  rt.dispatch(
    splitReduceProgram(vec, !!s.bias, s.gelu, !!s.pre, alpha, !!s.addend),
    buffers,
    grid(n, rt),
    [n, cols, slices, f32Bits(s.alpha ?? 1)],
  );
}

/** Merges batch dimensions whose strides chain in both operands and drops size-1 dimensions. */
function mergeBatch(
  dims: number[],
  sa: number[],
  sb: number[],
): { dims: number[]; sa: number[]; sb: number[] } {
  const out = { dims: [] as number[], sa: [] as number[], sb: [] as number[] };
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] === 1) continue;
    const k = out.dims.length - 1;
    if (k >= 0 && out.sa[k] === sa[i] * dims[i] && out.sb[k] === sb[i] * dims[i]) {
      out.dims[k] *= dims[i];
      out.sa[k] = sa[i];
      out.sb[k] = sb[i];
    } else {
      out.dims.push(dims[i]);
      out.sa.push(sa[i]);
      out.sb.push(sb[i]);
    }
  }
  if (out.dims.length > 4) {
    throw new RangeError(`matmul: batch broadcast pattern [${dims.join(", ")}] needs more than 4 dimensions`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------

/** Transpose flags: A is [..., K, M] with `transA`, B is [..., N, K] with `transB`. */
export interface TransposeOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * Options of {@linkcode matmul}: transposes and the fused epilogue act(alpha·op(a)·op(b) + bias + addend),
 * with bias [N] and addend (a residual) of the output's shape.
 */
export interface MatmulOptions extends TransposeOptions {
  bias?: Tensor;
  activation?: "gelu";
  /** Scale of the product (a LoRA update's alpha / rank); default 1. */
  alpha?: number;
  /** A tensor of the output's shape added before the activation (a residual, or the base of a LoRA layer). */
  addend?: Tensor;
}

/** Options of {@linkcode matmulRaw}: as {@linkcode MatmulOptions}, plus a forced kernel configuration. */
export interface MatmulRawOptions extends MatmulOptions {
  config?: MatmulConfigName | MatmulConfig;
  /** Split-K slices for a single GEMM with a tiled config (1: none); default {@linkcode chooseSplitK}. */
  splitK?: number;
}

interface Dims {
  M: number;
  N: number;
  K: number;
  aBatch: number[];
  bBatch: number[];
  batch: number[];
}

function dimsOf(aShape: readonly number[], bShape: readonly number[], o: TransposeOptions): Dims {
  if (aShape.length < 2 || bShape.length < 2) {
    throw new RangeError(
      `matmul needs rank ≥ 2 operands, got [${aShape.join(", ")}] and [${bShape.join(", ")}]`,
    );
  }
  const a0 = aShape[aShape.length - 2], a1 = aShape[aShape.length - 1];
  const b0 = bShape[bShape.length - 2], b1 = bShape[bShape.length - 1];
  const M = o.transA ? a1 : a0, Ka = o.transA ? a0 : a1;
  const Kb = o.transB ? b1 : b0, N = o.transB ? b0 : b1;
  if (Ka !== Kb) {
    throw new RangeError(
      `matmul: inner dimensions differ: [${aShape.join(", ")}]${o.transA ? "ᵀ" : ""} · [${
        bShape.join(", ")
      }]${o.transB ? "ᵀ" : ""}`,
    );
  }
  const aBatch = aShape.slice(0, -2), bBatch = bShape.slice(0, -2);
  return { M, N, K: Ka, aBatch, bBatch, batch: broadcastShape(aBatch, bBatch) };
}

/** The output shape of a (batched, broadcast) matmul. */
export function matmulShape(
  aShape: readonly number[],
  bShape: readonly number[],
  o: TransposeOptions = {},
): number[] {
  const d = dimsOf(aShape, bShape, o);
  return [...d.batch, d.M, d.N];
}

/** 2·M·N·K·batch: floating-point operations of a matmul. */
export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}

function checkInput(t: Tensor, what: string) {
  if (t.dtype !== "f32" && t.dtype !== "f16") {
    throw new TypeError(`matmul: ${what} must be f32 or f16, got ${t.dtype}`);
  }
  if (t.dtype === "f16" && !t.rt.gpu.f16) {
    throw new TypeError("matmul: f16 inputs need the shader-f16 feature");
  }
}

/** The full GEMM spec of C = op(a)·op(b) with broadcasting (batch folded into M when B is shared). */
function specOf(
  a: Tensor,
  b: Tensor,
  out: Tensor,
  o: MatmulRawOptions,
  pre?: Tensor,
): GemmSpec {
  checkInput(a, "A");
  checkInput(b, "B");
  const transA = !!o.transA, transB = !!o.transB;
  const d = dimsOf(a.shape, b.shape, o);
  if (o.bias) {
    if (o.bias.dtype !== "f32") throw new TypeError(`matmul: bias must be f32, got ${o.bias.dtype}`);
    if (o.bias.shape.join() !== `${d.N}`) {
      throw new RangeError(`matmul: bias [${o.bias.shape.join(", ")}] must be [${d.N}]`);
    }
  }
  if (o.addend) {
    if (o.addend.dtype !== "f32") throw new TypeError(`matmul: addend must be f32, got ${o.addend.dtype}`);
    const shape = [...d.batch, d.M, d.N];
    if (o.addend.shape.join() !== shape.join()) {
      throw new RangeError(
        `matmul: addend [${o.addend.shape.join(", ")}] must be the output's [${shape.join(", ")}]`,
      );
    }
  }
  if (o.alpha !== undefined && !Number.isFinite(o.alpha)) throw new RangeError(`matmul: alpha ${o.alpha}`);
  const config = typeof o.config === "string" ? MATMUL_CONFIGS[o.config] : o.config;
  if (o.config !== undefined && !config) throw new RangeError(`matmul: unknown config ${String(o.config)}`);
  let M = d.M;
  let batch: GemmSpec["batch"];
  if (numel(d.bBatch) === 1 && !transA) {
    // B is one shared matrix: A's batch folds into M (one big GEMM).
    M *= numel(d.batch);
    batch = { dims: [], sa: [], sb: [] };
  } else {
    const sa = broadcastStrides(d.aBatch, d.batch).map((s) => s * d.M * d.K);
    const sb = broadcastStrides(d.bBatch, d.batch).map((s) => s * d.K * d.N);
    batch = mergeBatch(d.batch, sa, sb);
  }
  return {
    a: a,
    b: b,
    out: out.buffer,
    M,
    N: d.N,
    K: d.K,
    transA,
    transB,
    batch,
    bias: o.bias?.buffer,
    addend: o.addend?.buffer,
    alpha: o.alpha,
    pre: pre?.buffer,
    gelu: o.activation === "gelu",
    config,
    splitK: o.splitK,
  };
}

function forward(a: Tensor, b: Tensor, o: MatmulRawOptions, withPre: boolean): { out: Tensor; pre?: Tensor } {
  if (o.activation !== undefined && o.activation !== "gelu") {
    throw new RangeError(`matmul: unknown activation ${String(o.activation)}`);
  }
  const shape = matmulShape(a.shape, b.shape, o);
  const out = new Tensor(a.rt, shape);
  const pre = withPre && o.activation === "gelu" ? new Tensor(a.rt, shape) : undefined;
  gemm(a.rt, specOf(a, b, out, o, pre));
  return { out, pre };
}

/**
 * C = op(a)·op(b) (+ bias, then GELU), not recorded for autograd; `config` forces a kernel
 * configuration (a name from {@linkcode MATMUL_CONFIGS} or a custom one). Output is f32.
 */
export function matmulRaw(a: Tensor, b: Tensor, options: MatmulRawOptions = {}): Tensor {
  return forward(a, b, options, false).out;
}

const geluBackwardProgram: Program = {
  key: "matmul:gelu-bwd",
  code: () =>
    `struct U { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> Z: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let x = Z[i];
  let g = G[i];
  let t = tanh(clamp(0.7978845608 * (x + 0.044715 * x * x * x), -15.0, 15.0));
  O[i] = g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608 * (1.0 + 0.134145 * x * x));
}`,
};

/** The software adapter's GELU backward: Z (as `a`) and G (as `b`) read through textures. */
const geluBackwardTextureProgram: Program = texturePairProgram(
  "matmul:gelu-bwd-tex",
  `let t = tanh(clamp(0.7978845608 * (a + 0.044715 * a * a * a), vec4<f32>(-15.0), vec4<f32>(15.0)));
  O[i] = b * (0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * 0.7978845608 * (1.0 + 0.134145 * a * a));`,
);

function geluBackward(pre: Tensor, g: Tensor): Tensor {
  const out = new Tensor(g.rt, g.shape);
  const rt = g.rt;
  if (rt.gpu.info.fallback && g.size % 4 === 0 && g.size > 0) {
    const views = [pre, g].map((t) => rt.texels(t.buffer, g.size / 4));
    rt.dispatch(
      geluBackwardTextureProgram,
      [...views, out.buffer],
      grid(g.size / 4, rt, 64),
      [g.size, 0, 0, 0],
    );
    views.forEach((v) => rt.releaseTexels(v));
    return out;
  }
  g.rt.dispatch(
    geluBackwardProgram,
    [pre.buffer, g.buffer, out.buffer],
    grid(g.size, g.rt),
    [g.size, 0, 0, 0],
  );
  return out;
}

/** Sums g [..., N] over every leading dimension (the bias gradient), with the gemv kernel. */
function columnSums(g: Tensor): Tensor {
  const N = g.shape.at(-1)!, rows = N === 0 ? 0 : g.size / N, rt = g.rt;
  const sums = (b: Operand, out: GPUBuffer, K: number, chunks: number) =>
    gemm(rt, {
      a: null,
      b,
      out,
      M: 1,
      N,
      K,
      transA: false,
      transB: false,
      batch: chunks > 1 ? { dims: [chunks], sa: [0], sb: [K * N] } : { dims: [], sa: [], sb: [] },
      gelu: false,
      config: { kind: "gemv", rows: 1 },
    });
  const out = new Tensor(rt, [N]);
  // On a GPU, many rows are summed in chunks first: one pass over [rows, N] has only N/64 workgroups,
  // each walking every row (a bias gradient of 4,608 rows took 95 µs on an H100). The software adapter
  // keeps the single pass (its CPU threads are few, and its results stay bit-identical to earlier runs).
  const chunks = rt.gpu.info.fallback
    ? 1
    : [32, 16, 8, 4, 2].find((c) => rows % c === 0 && rows / c >= 64) ?? 1;
  if (chunks === 1) {
    sums(g, out.buffer, rows, 1);
    return out;
  }
  const partial = rt.acquire(chunks * N * 4);
  sums(g, partial, rows / chunks, chunks);
  sums({ buffer: partial, dtype: "f32", size: chunks * N }, out.buffer, chunks, 1);
  rt.release(partial);
  return out;
}

/** Reduces a gradient computed over the full batch to an input's shape (a copy-free pass when equal). */
function reduceTo(full: Tensor, shape: readonly number[]): Tensor {
  if (full.shape.join() === shape.join()) return full;
  const r = sumTo(full, shape);
  full.release();
  return r;
}

/** dop(A) contracted back to a's layout: dA = dZ·op(B)ᵀ, or op(B)·dZᵀ when A is transposed. */
function gradA(
  a: Tensor,
  b: Tensor,
  dz: Tensor,
  transA: boolean,
  transB: boolean,
  alpha?: number,
  take?: () => Tensor | null,
): Tensor {
  const shape = transA ? matmulShape(b.shape, dz.shape, { transA: transB, transB: true }) : matmulShape(
    dz.shape,
    b.shape,
    { transB: !transB },
  );
  // When no batch reduction follows, the gradient a has gathered from its other consumers is added in the
  // epilogue instead of by a separate add.
  const addend = shape.join() === a.shape.join() ? take?.() ?? undefined : undefined;
  const full = transA
    ? matmulRaw(b, dz, { transA: transB, transB: true, alpha, addend })
    : matmulRaw(dz, b, { transB: !transB, alpha, addend });
  addend?.release();
  return reduceTo(full, a.shape);
}

/** dB = op(A)ᵀ·dZ (or dZᵀ·op(A) when B is transposed), summed over B's broadcast batch dimensions. */
function gradB(a: Tensor, b: Tensor, dz: Tensor, transA: boolean, transB: boolean, alpha?: number): Tensor {
  const d = dimsOf(a.shape, b.shape, { transA, transB });
  const rows = numel(d.batch) * d.M;
  if (numel(d.bBatch) === 1 && !transA && numel(d.aBatch) === numel(d.batch) && numel(d.batch) > 1) {
    // Shared weight: fold the batch into the contraction, one GEMM over all batch·M rows.
    const out = new Tensor(a.rt, b.shape);
    const none = { dims: [], sa: [], sb: [] };
    gemm(
      a.rt,
      transB
        ? {
          a: dz,
          b: a,
          out: out.buffer,
          M: d.N,
          N: d.K,
          K: rows,
          transA: true,
          transB: false,
          batch: none,
          gelu: false,
          alpha,
        }
        : {
          a: a,
          b: dz,
          out: out.buffer,
          M: d.K,
          N: d.N,
          K: rows,
          transA: true,
          transB: false,
          batch: none,
          gelu: false,
          alpha,
        },
    );
    return out;
  }
  const full = transB
    ? matmulRaw(dz, a, { transA: true, transB: transA, alpha })
    : matmulRaw(a, dz, { transA: !transA, alpha });
  return reduceTo(full, b.shape);
}

/**
 * Batched matmul C = op(a)·op(b), with an optional epilogue fused into the store: C = act(alpha·op(a)·op(b)
 * + bias + addend), bias [N], addend of C's shape (a residual), act GELU (tanh approximation); a is
 * [..., M, K] ([..., K, M] with `transA`), b is [..., K, N] ([..., N, K] with `transB`), batch dimensions
 * broadcast; C is [...batch, M, N], f32. Recorded for autograd (with the fused GELU the pre-activation is
 * kept until the backward). Why the epilogue: a residual add, a LoRA update's scale and add, and a GELU are
 * each a dispatch of their own otherwise, and the small models of this project are dispatch-bound.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = !!options.transA, transB = !!options.transB;
  const { bias, addend, alpha, activation } = options;
  const inputs = [a, b, ...(bias ? [bias] : []), ...(addend ? [addend] : [])];
  const recording = gradEnabled() && inputs.some((t) => t.requiresGrad);
  const { out, pre } = forward(a, b, { transA, transB, bias, addend, alpha, activation }, recording);
  return record(out, "matmul", inputs, (g, take) => {
    const dz = pre ? geluBackward(pre, g) : g;
    pre?.release();
    const dA = a.requiresGrad ? gradA(a, b, dz, transA, transB, alpha, () => take(0)) : null;
    const dB = b.requiresGrad ? gradB(a, b, dz, transA, transB, alpha) : null;
    const dBias = bias?.requiresGrad ? columnSums(dz) : null;
    // The addend's gradient is dz itself: passed on, not copied.
    const dAddend = addend?.requiresGrad ? dz : null;
    if (dz !== g && !dAddend) dz.release();
    return [dA, dB, ...(bias ? [dBias] : []), ...(addend ? [dAddend] : [])];
  });
}

// ---------------------------------------------------------------------------------------------------
// Float64 CPU reference
// ---------------------------------------------------------------------------------------------------

/**
 * Float64 reference of {@linkcode matmul} (row-major data, numpy batch broadcasting), optionally with
 * the epilogue act(alpha·product + bias + addend).
 */
export function referenceMatmul(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  options: TransposeOptions & {
    bias?: ArrayLike<number>;
    activation?: "gelu";
    alpha?: number;
    addend?: ArrayLike<number>;
  } = {},
): Float64Array {
  const { M, N, K, aBatch, bBatch, batch } = dimsOf(aShape, bShape, options);
  const count = numel(batch);
  const sa = broadcastStrides(aBatch, batch), sb = broadcastStrides(bBatch, batch);
  const out = new Float64Array(count * M * N);
  const [amk, akm] = options.transA ? [1, M] : [K, 1]; // strides of A along m and k
  const [bkn, bnn] = options.transB ? [1, K] : [N, 1]; // strides of B along k and n
  for (let z = 0; z < count; z++) {
    let rem = z, oa = 0, ob = 0;
    for (let d = batch.length - 1; d >= 0; d--) {
      const c = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      oa += c * sa[d];
      ob += c * sb[d];
    }
    oa *= M * K;
    ob *= K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[oa + m * amk + k * akm] * b[ob + k * bkn + n * bnn];
        s *= options.alpha ?? 1;
        if (options.bias) s += options.bias[n];
        if (options.addend) s += options.addend[z * M * N + m * N + n];
        if (options.activation === "gelu") {
          s = 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s ** 3)));
        }
        out[z * M * N + m * N + n] = s;
      }
    }
  }
  return out;
}
