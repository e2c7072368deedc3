/**
 * `deno task bench:kernels [--out file.json] [--preset cpu|gpu] [--gpu deno|dawn]` and `deno task bench:gpu`
 * (the gpu preset): milliseconds, GFLOP/s and the fraction of a roofline measured on the same adapter,
 * for GEMM (f32, and f16 inputs where `shader-f16` exists), attention, and one full training step of a
 * small transformer; plus per-dispatch, per-submit and readback overheads.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeJsonAtomic } from "../bench/core/fs.ts";
import { collectProvenance } from "../bench/core/provenance.ts";
import { type GpuBackend, openGpu } from "../bench/gpu/device.ts";
import {
  measureBandwidth,
  measureFmaPeak,
  measureOverheads,
  timeGpu,
  timeKernels,
} from "../bench/gpu/measure.ts";
import { attention } from "../bench/gpu/ops/attention.ts";
import {
  MATMUL_CONFIGS,
  type MatmulConfig,
  type MatmulConfigName,
  matmulFlops,
  matmulRaw,
  referenceMatmul,
  type TileConfig,
} from "../bench/gpu/ops/matmul.ts";
import { runtimeFor } from "../bench/gpu/runtime.ts";
import { type DType, type Tensor, tensorFrom } from "../bench/gpu/tensor.ts";
import { randomValues, relativeError } from "../bench/gpu/testing.ts";
import { tinyBatch, type TinyConfig, tinyModel } from "../bench/gpu/tiny_transformer.ts";
import { noGrad } from "../bench/gpu/autograd.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task bench:kernels [--preset cpu|gpu] [--out results.json] [--gpu deno|dawn]

  --preset cpu   sizes for the software adapter (default for bench:kernels)
  --preset gpu   sizes for a real GPU (what bench:gpu runs)
  --only <parts> comma-separated: gemm, sweep, model, attention, train (default: all of them), and,
                 only when named: gemmsweep (tile candidates at the sweep size, f32 and f16, each
                 also checked against the float64 reference) and modelsweep (every named tile
                 configuration and the small-tile and k-group candidates at the model's shapes) and
                 splitsweep (the mid and small tiles, and two k-group tiles, at the model's shapes
                 with 1, 2, 4 and 8 split-K slices); model shapes and these sweeps also report the
                 kernels' own time from timestamp queries where the adapter has them
  --candidates <labels>  comma-separated: only the sweep candidates with these labels (default: all)
  --out <file>   also write {adapter, roofline, overheads, results} as JSON
  --gpu <impl>   deno (built-in wgpu, default) or dawn (npm:webgpu, where it loads)`;

/** One measured kernel. */
interface Result {
  name: string;
  dtype: string;
  shape: number[];
  ms: number;
  gflops: number;
  /** gflops / the measured FMA peak of this adapter. */
  fraction: number;
  config?: string;
  /** The tile of a sweep candidate. */
  tile?: TileConfig;
  /** Relative error against the float64 reference at a small shape (sweep candidates). */
  relError?: number;
  /**
   * The kernels' own GPU time per call from timestamp queries (model shapes and sweeps, where the adapter
   * has them): `ms` is wall time per call of back-to-back calls, which for small GEMMs includes the host's
   * recording; `kernelMs` is what the dispatches themselves took.
   */
  kernelMs?: number;
  /** GFLOP/s at `kernelMs`. */
  kernelGflops?: number;
}

/** M, N, K and optionally the transposes ("NT": B transposed, "TN": A transposed). */
type GemmShape = [number, number, number, ("NN" | "NT" | "TN" | "TT")?];

const PRESETS = {
  cpu: {
    gemm: [256, 512, 1024],
    sweepAt: 256,
    // The tiny model's GEMMs, then the small CI models' (batch·tokens 384–2048 rows, d 64–128, 4d): the
    // forward, the input gradient (·Wᵀ) and the weight gradient (Xᵀ·, "T" first: transA).
    modelGemms: [
      [192, 64, 256],
      [192, 256, 64],
      [64, 256, 192],
      [384, 256, 64],
      [384, 64, 256],
      [2048, 512, 128],
      [2048, 128, 512],
      [2048, 256, 256],
      [2048, 128, 128, "NT"],
      [128, 512, 2048, "TN"],
    ] as GemmShape[],
    attention: { B: 2, H: 4, S: 48, Dh: 32 },
    tiny: { vocab: 24, dim: 64, heads: 4, layers: 2, seq: 48, prefix: 32, batch: 4 },
    // Closer to the quick models trained on the software adapter in CI.
    moreTiny: [
      { vocab: 24, dim: 64, heads: 4, layers: 2, seq: 24, prefix: 16, batch: 16 },
      { vocab: 24, dim: 128, heads: 4, layers: 4, seq: 80, prefix: 64, batch: 16 },
    ],
    fmaGroups: 64,
    bandwidthMB: 16,
    minMs: 300,
  },
  gpu: {
    gemm: [256, 512, 1024, 2048, 4096, 8192],
    sweepAt: 4096,
    // The paper preset's GEMMs (d 256, MLP 1024, 72 tokens per sample): at batch 16 (1,152 rows) the
    // projections, the MLP, an input gradient (·Wᵀ, "NT") and weight gradients (Xᵀ·, "TN"); at batch 64
    // (4,608 rows) the MLP; while sampling K = 4 for 16 images (64 rows) a projection. Then one larger
    // shape measured on the H200 before (4096×512×2048).
    modelGemms: [
      [1152, 256, 256],
      [1152, 1024, 256],
      [1152, 256, 1024],
      [1152, 1024, 256, "NT"],
      [256, 1024, 1152, "TN"],
      [256, 256, 1152, "TN"],
      [4608, 1024, 256],
      [4608, 256, 1024],
      [64, 256, 256],
      [4096, 512, 2048],
    ] as GemmShape[],
    attention: { B: 16, H: 8, S: 320, Dh: 64 },
    tiny: { vocab: 32, dim: 512, heads: 8, layers: 6, seq: 320, prefix: 256, batch: 16 },
    // The paper preset's transformer (64 patches + 8 text tokens) at batch 16 and 64.
    moreTiny: [
      { vocab: 22, dim: 256, heads: 8, layers: 4, seq: 72, prefix: 65, batch: 16 },
      { vocab: 22, dim: 256, heads: 8, layers: 4, seq: 72, prefix: 65, batch: 64 },
    ] as TinyConfig[],
    fmaGroups: 8192,
    bandwidthMB: 512,
    minMs: 400,
  },
} as const;

const tile = (BM: number, BN: number, BK: number, TM: number, TN: number, more: Partial<TileConfig> = {}) =>
  ({ kind: "tile", BM, BN, BK, TM, TN, ...more }) as TileConfig;

/** The candidates of `list` without prefetch (labels as given); `f16`: only for f16 inputs. */
function npCandidates(list: [string, TileConfig][], f16 = false) {
  return list.map(([label, config]) => ({
    label,
    config: { ...config, prefetch: false },
    ...(f16 ? { f16 } : {}),
  }));
}

/**
 * Tile candidates `--only gemmsweep` times at the sweep size (4096³ in the gpu preset) beside the named
 * configurations: BK 8, L2 grouping, 16-wide thread tiles (128×256 and 256×128 workgroup tiles, or
 * 128×128 with 128 threads), 8×8 thread tiles in smaller workgroups, nested tiles, warp layouts, loads
 * without prefetch (before or after the barrier, or double-buffered); with `f16: true` only for f16
 * inputs (f16 workgroup tiles, and f16 partial sums). Label suffixes: k (BK), g (group), db, t (thread
 * tile), h (half), hs (halfSums), n (nested), w (lanes), np (no prefetch), e (early), s (swizzle).
 */
export const GEMM_CANDIDATES: { label: string; config: TileConfig; f16?: boolean }[] = [
  { label: "128x128k8", config: tile(128, 128, 8, 8, 8) },
  { label: "128x128g8", config: tile(128, 128, 16, 8, 8, { group: 8 }) },
  { label: "128x128k32g8", config: tile(128, 128, 32, 8, 8, { swizzle: true, group: 8 }) },
  { label: "128x128dbg8", config: tile(128, 128, 16, 8, 8, { db: true, swizzle: true, group: 8 }) },
  { label: "128x256", config: tile(128, 256, 16, 8, 16, { swizzle: true }) },
  { label: "128x256k8db", config: tile(128, 256, 8, 8, 16, { db: true, swizzle: true }) },
  { label: "128x256db", config: tile(128, 256, 16, 8, 16, { db: true, swizzle: true }) },
  { label: "256x128", config: tile(256, 128, 16, 16, 8, { swizzle: true }) },
  { label: "256x128k8db", config: tile(256, 128, 8, 16, 8, { db: true, swizzle: true }) },
  { label: "128x128t8x16", config: tile(128, 128, 16, 8, 16, { swizzle: true }) },
  { label: "128x128t8x16db", config: tile(128, 128, 16, 8, 16, { db: true, swizzle: true }) },
  { label: "128x128t8x16k32", config: tile(128, 128, 32, 8, 16, { swizzle: true }) },
  { label: "128x128t16x8", config: tile(128, 128, 16, 16, 8, { swizzle: true }) },
  { label: "64x128t8x8", config: tile(64, 128, 16, 8, 8, { swizzle: true }) },
  { label: "128x64t8x8", config: tile(128, 64, 16, 8, 8, { swizzle: true }) },
  { label: "64x64t8x8", config: tile(64, 64, 16, 8, 8, { swizzle: true }) },
  { label: "128x128h", config: tile(128, 128, 16, 8, 8, { half: true }), f16: true },
  { label: "128x128k32h", config: tile(128, 128, 32, 8, 8, { swizzle: true, half: true }), f16: true },
  {
    label: "128x128dbh",
    config: tile(128, 128, 16, 8, 8, { db: true, swizzle: true, half: true }),
    f16: true,
  },
  { label: "128x256h", config: tile(128, 256, 16, 8, 16, { swizzle: true, half: true }), f16: true },
  {
    label: "128x256dbh",
    config: tile(128, 256, 16, 8, 16, { db: true, swizzle: true, half: true }),
    f16: true,
  },
  {
    label: "128x128hs",
    config: tile(128, 128, 16, 8, 8, { half: true, halfSums: true }),
    f16: true,
  },
  {
    label: "128x128k32hs8",
    config: tile(128, 128, 32, 8, 8, { swizzle: true, half: true, halfSums: true, unroll: 8 }),
    f16: true,
  },
  {
    label: "128x128dbhs",
    config: tile(128, 128, 16, 8, 8, { db: true, swizzle: true, half: true, halfSums: true }),
    f16: true,
  },
  {
    label: "128x256hs",
    config: tile(128, 256, 16, 8, 16, { swizzle: true, half: true, halfSums: true }),
    f16: true,
  },
  {
    label: "128x256dbhs",
    config: tile(128, 256, 16, 8, 16, { db: true, swizzle: true, half: true, halfSums: true }),
    f16: true,
  },
  {
    label: "256x128hs",
    config: tile(256, 128, 16, 16, 8, { swizzle: true, half: true, halfSums: true }),
    f16: true,
  },
  // Nested workgroup tiles (n: reads clamped once, not per read), warps of 8×4 threads (w8), loads
  // without prefetch (np).
  { label: "128x128n", config: tile(128, 128, 16, 8, 8, { nested: true }) },
  { label: "128x128w8n", config: tile(128, 128, 16, 8, 8, { nested: true, lanes: 8 }) },
  { label: "128x128w8", config: tile(128, 128, 16, 8, 8, { lanes: 8 }) },
  { label: "128x128npn", config: tile(128, 128, 16, 8, 8, { nested: true, prefetch: false }) },
  { label: "128x128k32n", config: tile(128, 128, 32, 8, 8, { swizzle: true, nested: true }) },
  { label: "128x128k8n", config: tile(128, 128, 8, 8, 8, { nested: true }) },
  { label: "128x128dbn", config: tile(128, 128, 16, 8, 8, { db: true, swizzle: true, nested: true }) },
  { label: "128x256n", config: tile(128, 256, 16, 8, 16, { swizzle: true, nested: true }) },
  { label: "128x256w8n", config: tile(128, 256, 16, 8, 16, { swizzle: true, nested: true, lanes: 8 }) },
  { label: "64x128t8x8n", config: tile(64, 128, 16, 8, 8, { swizzle: true, nested: true }) },
  { label: "128x128t8x16n", config: tile(128, 128, 16, 8, 16, { swizzle: true, nested: true }) },
  { label: "128x128hn", config: tile(128, 128, 16, 8, 8, { half: true, nested: true }), f16: true },
  {
    label: "128x256hn",
    config: tile(128, 256, 16, 8, 16, { swizzle: true, half: true, nested: true }),
    f16: true,
  },
  {
    label: "128x256hsn",
    config: tile(128, 256, 16, 8, 16, { swizzle: true, half: true, halfSums: true, nested: true }),
    f16: true,
  },
  // Without prefetch (np): the registers the next k-step's loads held are free during the FMAs.
  ...npCandidates([
    // "128x128np" is the named configuration (nested, swizzled); this is its flat-tile form.
    ["128x128npflat", tile(128, 128, 16, 8, 8)],
    ["128x128k32npn", tile(128, 128, 32, 8, 8, { swizzle: true, nested: true })],
    ["128x128k8npn", tile(128, 128, 8, 8, 8, { nested: true })],
    ["128x128g8npn", tile(128, 128, 16, 8, 8, { nested: true, group: 8 })],
    ["128x128w8npn", tile(128, 128, 16, 8, 8, { nested: true, lanes: 8 })],
    ["128x256npn", tile(128, 256, 16, 8, 16, { swizzle: true, nested: true })],
    ["128x256w8npn", tile(128, 256, 16, 8, 16, { swizzle: true, nested: true, lanes: 8 })],
    ["256x128npn", tile(256, 128, 16, 16, 8, { swizzle: true, nested: true })],
    ["64x128t8x8npn", tile(64, 128, 16, 8, 8, { swizzle: true, nested: true })],
    ["128x128t8x16npn", tile(128, 128, 16, 8, 16, { swizzle: true, nested: true })],
  ]),
  ...npCandidates([
    ["128x128hnpn", tile(128, 128, 16, 8, 8, { half: true, nested: true })],
    ["128x128k32hnpn", tile(128, 128, 32, 8, 8, { swizzle: true, half: true, nested: true })],
    ["128x256hnpn", tile(128, 256, 16, 8, 16, { swizzle: true, half: true, nested: true })],
  ], true),
  // No prefetch with swizzled stores (s), loads issued before the barrier (e), double buffers (db).
  ...npCandidates([
    ["128x128snpn", tile(128, 128, 16, 8, 8, { swizzle: true, nested: true })],
    ["128x128npne", tile(128, 128, 16, 8, 8, { nested: true, early: true })],
    ["128x128snpne", tile(128, 128, 16, 8, 8, { swizzle: true, nested: true, early: true })],
    ["128x128k32npne", tile(128, 128, 32, 8, 8, { swizzle: true, nested: true, early: true })],
    ["128x128g8npne", tile(128, 128, 16, 8, 8, { nested: true, group: 8, early: true })],
    ["64x128t8x8npne", tile(64, 128, 16, 8, 8, { swizzle: true, nested: true, early: true })],
    ["128x256w8npne", tile(128, 256, 16, 8, 16, { swizzle: true, nested: true, lanes: 8, early: true })],
    ["128x128dbnpn", tile(128, 128, 16, 8, 8, { db: true, swizzle: true, nested: true })],
  ]),
];

/**
 * In-workgroup split-K candidates (`kgroups` groups of threads per output tile): the small and mid tiles
 * with 2 or 4 times the threads, each group over every 2nd or 4th k-step.
 */
const KGROUP_CANDIDATES: { label: string; config: TileConfig }[] = [
  { label: "32x32kg2", config: tile(32, 32, 16, 4, 4, { swizzle: true, kgroups: 2 }) },
  { label: "64x32kg4", config: tile(64, 32, 16, 4, 4, { swizzle: true, kgroups: 4 }) },
  { label: "64x64kg2", config: tile(64, 64, 16, 4, 4, { kgroups: 2 }) },
  { label: "64x64kg4", config: tile(64, 64, 16, 4, 4, { kgroups: 4 }) },
];

/**
 * Small tiles `--only modelsweep` adds at the model's shapes to the named ones (which include "64x32" and
 * "32x32"): more workgroups for small GEMMs, and the k-group tiles.
 */
export const SMALL_CANDIDATES: { label: string; config: TileConfig }[] = [
  GEMM_CANDIDATES.find((c) => c.label === "64x64t8x8")!,
  { label: "32x64", config: tile(32, 64, 16, 4, 4, { swizzle: true }) },
  { label: "32x32k32", config: tile(32, 32, 32, 4, 4, { swizzle: true }) },
  ...KGROUP_CANDIDATES,
  // Nested workgroup tiles of the small and mid tiles.
  { label: "64x32n", config: tile(64, 32, 16, 4, 4, { swizzle: true, nested: true }) },
  { label: "32x32n", config: tile(32, 32, 16, 4, 4, { swizzle: true, nested: true }) },
  { label: "32x32kg4n", config: tile(32, 32, 16, 4, 4, { swizzle: true, kgroups: 4, nested: true }) },
  { label: "64x64kg2n", config: tile(64, 64, 16, 4, 4, { kgroups: 2, nested: true }) },
  // Deeper k-steps: fewer global-memory round trips, which bound a small GEMM with a long K.
  { label: "32x32k64", config: tile(32, 32, 64, 4, 4, { swizzle: true }) },
  { label: "64x32k64", config: tile(64, 32, 64, 4, 4, { swizzle: true }) },
  { label: "64x64k32", config: tile(64, 64, 32, 4, 4, { swizzle: true }) },
  { label: "64x64k64", config: tile(64, 64, 64, 4, 4, { swizzle: true }) },
  { label: "32x32kg4k32", config: tile(32, 32, 32, 4, 4, { swizzle: true, kgroups: 4 }) },
  { label: "64x64k32n", config: tile(64, 64, 32, 4, 4, { swizzle: true, nested: true }) },
  { label: "64x64np", config: tile(64, 64, 16, 4, 4, { prefetch: false }) },
];

/** The named tile configurations, labelled as the sweeps label candidates. */
export const NAMED_TILES = (Object.keys(MATMUL_CONFIGS) as MatmulConfigName[])
  .filter((c) => MATMUL_CONFIGS[c].kind === "tile")
  .map((c) => ({ label: c, config: MATMUL_CONFIGS[c] as TileConfig }));

if (import.meta.main) {
  await runTask("bench:kernels", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        preset: { type: "string", default: "cpu" },
        out: { type: "string" },
        gpu: { type: "string", default: "deno" },
        only: { type: "string" },
        candidates: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) return console.log(USAGE);
    if (values.preset !== "cpu" && values.preset !== "gpu") {
      throw new UsageError(`--preset must be cpu or gpu`);
    }
    if (values.gpu !== "deno" && values.gpu !== "dawn") throw new UsageError(`--gpu must be deno or dawn`);
    const preset = PRESETS[values.preset];
    const gpu = await openGpu(values.gpu as GpuBackend);
    const rt = runtimeFor(gpu);
    const only = values.only?.split(",");
    const want = (part: string) => !only || only.includes(part);
    console.log(`adapter: ${gpu.info.description}${gpu.info.fallback ? " (software fallback)" : ""}`);
    console.log(`features: ${gpu.info.features.join(", ")}`);

    const fmaGflops = await measureFmaPeak(rt, preset.fmaGroups);
    const bandwidth = await measureBandwidth(rt, preset.bandwidthMB);
    const overheads = await measureOverheads(rt, 1000);
    console.log(
      `roofline: f32 FMA peak ${fmaGflops.toFixed(1)} GFLOP/s, copy bandwidth ${
        bandwidth.toFixed(1)
      } GB/s; ` +
        `dispatch ${overheads.dispatchUs.toFixed(1)} µs in a shared pass, ${
          overheads.submitUs.toFixed(1)
        } µs ` +
        `with its own submit; host ${overheads.encodeUs.toFixed(1)} µs to record one (${
          overheads.encodeNewBindGroupUs.toFixed(1)
        } µs with a new bind group); readback ${overheads.readbackMs.toFixed(1)} ms${
          overheads.kernelFloorUs === null
            ? ""
            : `; kernel timer floor ${overheads.kernelFloorUs.toFixed(1)} µs (an empty dispatch)`
        }`,
    );
    const results: Result[] = [];
    const provenance = await collectProvenance({ adapter: gpu.info });
    // The file is rewritten after every result, so a run stopped at a time limit keeps what it measured.
    const save = () =>
      values.out
        ? writeJsonAtomic(values.out, {
          adapter: {
            description: gpu.info.description,
            fallback: gpu.info.fallback,
            features: gpu.info.features,
          },
          roofline: { fmaGflops, bandwidthGBs: bandwidth },
          overheads,
          provenance,
          preset: values.preset,
          results,
        })
        : Promise.resolve();
    const push = async (r: Omit<Result, "fraction">) => {
      const full = { ...r, fraction: r.gflops / fmaGflops };
      results.push(full);
      console.log(
        `  ${r.name.padEnd(34)} ${r.dtype.padEnd(4)} ${r.ms.toFixed(3).padStart(10)} ms ${
          r.gflops.toFixed(1).padStart(9)
        } GFLOP/s ${(full.fraction * 100).toFixed(1).padStart(5)}%${
          r.kernelMs !== undefined
            ? `  kernels ${(r.kernelMs * 1000).toFixed(1)} µs, ${r.kernelGflops!.toFixed(1)} GFLOP/s`
            : ""
        }${r.relError !== undefined ? `  err ${r.relError.toExponential(1)}` : ""}`,
      );
      await save();
    };

    // The last GEMM's inputs (kept while the next GEMM has the same shape, dtype and transposes).
    let lastInputs: { key: string; a: Tensor; b: Tensor } | null = null;
    const releaseInputs = () => {
      lastInputs?.a.release();
      lastInputs?.b.release();
      lastInputs = null;
    };
    const gemm = async (
      M: number,
      N: number,
      K: number,
      dtype: DType,
      config?: MatmulConfigName | { label: string; config: TileConfig },
      name = "gemm",
      trans = "NN",
      minMs: number = preset.minMs,
      splitK?: number,
      kernelTimes = false,
    ) => {
      const transA = trans[0] === "T", transB = trans[1] === "T";
      const kernel: MatmulConfigName | MatmulConfig | undefined = typeof config === "object"
        ? config.config
        : config;
      // Sweep candidates are first checked at a small shape against the float64 reference (on the
      // f16-rounded inputs for f16), so a fast but wrong kernel shows.
      let relError: number | undefined;
      if (typeof config === "object") {
        const [m, n, k] = [260, 264, 132];
        const round = (x: Float64Array) => (dtype === "f16" ? Float64Array.from(Float16Array.from(x)) : x);
        const ad = randomValues(m * k, 3), bd = randomValues(k * n, 4);
        const as = transA ? [k, m] : [m, k], bs = transB ? [n, k] : [k, n];
        const a = tensorFrom(rt, ad, as, { dtype }), b = tensorFrom(rt, bd, bs, { dtype });
        const out = noGrad(() => matmulRaw(a, b, { config: kernel, transA, transB, splitK }));
        relError = relativeError(
          await out.toArray(),
          referenceMatmul(round(ad), as, round(bd), bs, { transA, transB }),
        );
        for (const t of [a, b, out]) t.release();
      }
      // The inputs depend only on the shape, dtype and transposes, so a sweep makes them once (4096² random
      // values take longer to make than the timing itself).
      const key = `${M}x${N}x${K}:${dtype}:${trans}`;
      if (lastInputs?.key !== key) {
        releaseInputs();
        lastInputs = {
          key,
          a: tensorFrom(rt, randomValues(M * K, 1), transA ? [K, M] : [M, K], { dtype }),
          b: tensorFrom(rt, randomValues(K * N, 2), transB ? [N, K] : [K, N], { dtype }),
        };
      }
      const { a, b } = lastInputs;
      const call = () => noGrad(() => matmulRaw(a, b, { config: kernel, transA, transB, splitK }).release());
      const ms = await timeGpu(rt, call, { minMs });
      // About minMs / 4 of GPU work, 3 to 50 calls.
      const kernelMs = kernelTimes
        ? await timeKernels(rt, call, Math.max(3, Math.min(50, Math.round(minMs / 4 / ms))))
        : null;
      await push({
        name: `${name} ${M}×${N}×${K}${trans === "NN" ? "" : ` ${trans}`}`,
        dtype,
        shape: [M, N, K],
        ms,
        gflops: matmulFlops(M, N, K) / (ms * 1e6),
        config: typeof config === "object" ? config.label : config,
        ...(typeof config === "object" ? { tile: config.config, relError } : {}),
        ...(kernelMs !== null ? { kernelMs, kernelGflops: matmulFlops(M, N, K) / (kernelMs * 1e6) } : {}),
      });
    };
    const dtypes: DType[] = gpu.f16 ? ["f32", "f16"] : ["f32"];
    const chosen = values.candidates?.split(",");
    const picked = <T extends { label: string }>(list: T[]) =>
      list.filter((c) => !chosen || chosen.includes(c.label));
    if (want("gemm")) {
      for (const dtype of dtypes) for (const n of preset.gemm) await gemm(n, n, n, dtype);
    }
    if (want("sweep")) {
      for (const name of Object.keys(MATMUL_CONFIGS) as MatmulConfigName[]) {
        if (name === "gemv") continue;
        const n = preset.sweepAt;
        await gemm(n, n, n, "f32", name, `gemm[${name}]`).catch((err) =>
          console.log(`  gemm[${name}] skipped: ${err.message}`)
        );
      }
    }
    if (want("model")) {
      for (const dtype of dtypes) {
        for (const [M, N, K, t] of preset.modelGemms) {
          await gemm(M, N, K, dtype, undefined, "model gemm", t, preset.minMs, undefined, true);
        }
      }
    }
    if (only?.includes("gemmsweep")) {
      // Opt-in: the named tiles and the candidates at the sweep size, each dtype; a candidate the
      // device cannot run (workgroup memory, threads) is reported and skipped.
      const n = preset.sweepAt;
      for (const dtype of dtypes) {
        const all = [...NAMED_TILES, ...GEMM_CANDIDATES.filter((c) => !c.f16 || dtype === "f16")];
        for (const c of picked(all)) {
          await gemm(n, n, n, dtype, c, `gemm[${c.label}]`, "NN", preset.minMs / 2).catch((err) =>
            console.log(`  gemm[${c.label}] ${dtype} skipped: ${err.message}`)
          );
        }
      }
    }
    if (only?.includes("modelsweep")) {
      // Every named tile configuration and the small-tile candidates at each of the model's shapes
      // (opt-in: what a GPU session tunes the heuristic from).
      const tiles = picked([...NAMED_TILES, ...SMALL_CANDIDATES]);
      for (const [M, N, K, t] of preset.modelGemms) {
        for (const c of tiles) {
          await gemm(M, N, K, "f32", c, `model gemm[${c.label}]`, t, 100, undefined, true).catch((err) =>
            console.log(`  model gemm[${c.label}] ${M}×${N}×${K} skipped: ${err.message}`)
          );
        }
      }
    }
    if (only?.includes("splitsweep")) {
      // Opt-in: how far splitting K helps the latency-bound small GEMMs of the model.
      const tiles = picked([
        ...(["64x64", "64x32", "32x32", "128x64"] as const).map((c) => ({
          label: c,
          config: MATMUL_CONFIGS[c] as TileConfig,
        })),
        { label: "32x32kg4", config: MATMUL_CONFIGS["32x32kg4"] as TileConfig },
        ...KGROUP_CANDIDATES.filter((c) => c.label === "64x64kg2"),
      ]);
      for (const [M, N, K, t] of preset.modelGemms.slice(0, 6)) {
        for (const c of tiles) {
          for (const split of [1, 2, 4, 8]) {
            await gemm(
              M,
              N,
              K,
              "f32",
              { ...c, label: `${c.label}/s${split}` },
              `split gemm[${c.label}/s${split}]`,
              t,
              100,
              split,
              true,
            )
              .catch((err) =>
                console.log(`  split gemm[${c.label}/s${split}] ${M}×${N}×${K} skipped: ${err.message}`)
              );
          }
        }
      }
    }
    releaseInputs();
    if (want("attention")) {
      const { B, H, S, Dh } = preset.attention;
      const shape = [B, H, S, Dh];
      const n = B * H * S * Dh;
      const [q, k, v] = [1, 2, 3].map((s) => tensorFrom(rt, randomValues(n, s), shape));
      const ms = await timeGpu(
        rt,
        () => noGrad(() => attention(q, k, v, { prefix: Math.floor(S * 0.8) }).release()),
        {
          minMs: preset.minMs,
        },
      );
      // QKᵀ and PV over the full S×S square: an upper bound of the work the mask allows.
      await push({
        name: `attention B${B} H${H} S${S} Dh${Dh}`,
        dtype: "f32",
        shape,
        ms,
        gflops: (4 * B * H * S * S * Dh) / (ms * 1e6),
      });
      for (const t of [q, k, v]) t.release();
    }
    if (want("train")) {
      for (const c of [preset.tiny, ...preset.moreTiny]) await trainStep(c);
    }
    async function trainStep(c: TinyConfig) {
      const model = tinyModel(rt, c, 0);
      const batch = tinyBatch(rt, c, 1);
      const ms = await timeGpu(
        rt,
        () => void rt.scope(() => model.step(batch.ids, batch.targets, batch.weights)),
        {
          minMs: preset.minMs,
          maxIters: 200,
        },
      );
      await push({
        name: `train step d${c.dim} L${c.layers} S${c.seq} B${c.batch}`,
        dtype: "f32",
        shape: [c.batch, c.seq, c.dim, c.layers],
        ms,
        gflops: model.flopsPerStep / (ms * 1e6),
      });
    }
    console.log(`dispatches recorded: ${rt.stats.dispatches}, pipelines: ${rt.stats.pipelines}`);
    if (values.out) {
      await save();
      console.log(`wrote ${values.out}`);
    }
  });
}
