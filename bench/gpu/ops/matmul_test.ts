import assert from "node:assert/strict";
import { backward, noGrad } from "../autograd.ts";
import { numel, type Tensor, tensorFrom } from "../tensor.ts";
import { Runtime } from "../runtime.ts";
import { add } from "./elementwise.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import {
  chooseMatmulConfig,
  chooseSplitK,
  configProblem,
  configThreads,
  configWorkgroupBytes,
  matmul,
  MATMUL_CONFIGS,
  type MatmulConfig,
  type MatmulConfigName,
  matmulFlops,
  matmulRaw,
  type MatmulRawOptions,
  matmulShape,
  referenceMatmul,
  type TileConfig,
} from "./matmul.ts";

const rt = await testRuntime();

const TRANSPOSES = [
  { transA: false, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: false },
  { transA: true, transB: true },
] as const;

const tname = (o: { transA?: boolean; transB?: boolean }) => `${o.transA ? "T" : "N"}${o.transB ? "T" : "N"}`;

/** Stored shapes of A and B for an M×N×K product with batch prefixes and transposes. */
function shapes(
  M: number,
  N: number,
  K: number,
  o: { transA?: boolean; transB?: boolean },
  aBatch: number[] = [],
  bBatch: number[] = [],
): [number[], number[]] {
  return [[...aBatch, ...(o.transA ? [K, M] : [M, K])], [...bBatch, ...(o.transB ? [N, K] : [K, N])]];
}

let seed = 1;

/** Runs matmulRaw on random data and compares with the float64 reference. */
async function checkForward(
  as: number[],
  bs: number[],
  options: MatmulRawOptions & { dtype?: "f32" | "f16"; biasN?: number; withAddend?: boolean } = {},
  tol = 1e-4,
) {
  const a = randomValues(numel(as), seed++), b = randomValues(numel(bs), seed++);
  const dtype = options.dtype ?? "f32";
  const ta = tensorFrom(rt, a, as, { dtype }), tb = tensorFrom(rt, b, bs, { dtype });
  const biasData = options.biasN !== undefined ? randomValues(options.biasN, seed++) : undefined;
  const bias = biasData ? tensorFrom(rt, biasData, [biasData.length]) : undefined;
  const outShape = matmulShape(as, bs, options);
  const addendData = options.withAddend ? randomValues(numel(outShape), seed++) : undefined;
  const addend = addendData ? tensorFrom(rt, addendData, outShape) : undefined;
  const out = matmulRaw(ta, tb, { ...options, bias, addend });
  const what = `[${as}]·[${bs}] ${tname(options)} ${
    typeof options.config === "object" ? JSON.stringify(options.config) : options.config ?? "auto"
  }${options.alpha !== undefined ? ` ×${options.alpha}` : ""}${bias ? " +bias" : ""}${
    addend ? " +addend" : ""
  }${options.activation ? ` ${options.activation}` : ""} ${dtype}`;
  assert.deepEqual(out.shape, matmulShape(as, bs, options), what);
  // f16: compare against the reference on the f16-rounded inputs.
  const round = (x: Float64Array) => (dtype === "f16" ? Float64Array.from(Float16Array.from(x)) : x);
  const expected = referenceMatmul(round(a), as, round(b), bs, {
    ...options,
    bias: biasData,
    addend: addendData,
  });
  assertClose(await out.toArray(), expected, tol, what);
  for (const t of [ta, tb, bias, addend, out]) t?.release();
}

// Dimensions that are multiples of 4 (vec4 loads and stores) but of no tile size, with bounds checks on
// every side; [132, 136, 44] spans two tiles of every configuration in M and N.
const ALIGNED: [number, number, number][] = [[132, 136, 44], [36, 20, 44], [4, 8, 12]];
// Shapes that are not multiples of any tile size nor of 4 (the scalar-load kernels).
const ODD: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 33, 65], [130, 129, 67]];

const CONFIGS: MatmulConfigName[] = [
  "128x128",
  "128x128np",
  "128x128k32",
  "128x128db",
  "128x64",
  "64x128",
  "64x64",
  "64x64n",
  "64x32",
  "32x32",
  "32x32kg4",
  "gemv",
  "tex8x8",
  "tex4x8",
  "tex4x4",
];
const TEX_CONFIGS = ["tex8x8", "tex4x8", "tex4x4"] as const;
// The gemv kernel with 16 rows per workgroup (the N-major variant then reduces in several rounds).
const GEMV16: MatmulConfig = { kind: "gemv", rows: 16 };

Deno.test("referenceMatmul, matmulShape and matmulFlops", () => {
  // [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]
  assert.deepEqual([...referenceMatmul([1, 2, 3, 4], [2, 2], [5, 6, 7, 8], [2, 2])], [19, 22, 43, 50]);
  // transposes read the same matrices from transposed storage
  assert.deepEqual(
    [...referenceMatmul([1, 3, 2, 4], [2, 2], [5, 7, 6, 8], [2, 2], { transA: true, transB: true })],
    [19, 22, 43, 50],
  );
  assert.deepEqual(matmulShape([2, 3, 4, 5], [5, 6]), [2, 3, 4, 6]);
  assert.deepEqual(matmulShape([2, 1, 4, 5], [3, 6, 5], { transB: true }), [2, 3, 4, 6]);
  assert.deepEqual(matmulShape([5, 4], [7, 5, 6], { transA: true }), [7, 4, 6]);
  assert.throws(() => matmulShape([4, 5], [6, 7]), /inner dimensions/);
  assert.throws(() => matmulShape([2, 4, 5], [3, 5, 7]), /cannot be broadcast/);
  assert.throws(() => matmulShape([5], [5, 7]), /rank ≥ 2/);
  assert.equal(matmulFlops(2, 3, 4, 5), 240);
  assert.equal(matmulFlops(2, 3, 4), 48);
});

Deno.test("config heuristic and limits", () => {
  // The GPU heuristic, checked on this device's limits as if it were a GPU (CI runs the software adapter).
  const gpuRt = { gpu: { ...rt.gpu, info: { ...rt.gpu.info, fallback: false } } } as typeof rt;
  assert.deepEqual(chooseMatmulConfig(gpuRt, 1, 768, 768), { kind: "gemv", rows: 1 });
  assert.deepEqual(chooseMatmulConfig(gpuRt, 12, 768, 768), { kind: "gemv", rows: 4 });
  assert.deepEqual(chooseMatmulConfig(gpuRt, 12, 768, 768, 1, true), { kind: "gemv", rows: 16 });
  assert.deepEqual(chooseMatmulConfig(gpuRt, 3, 768, 768), { kind: "gemv", rows: 4 });
  // fewer than 32 tiles of 64×64: 32×32 with split-K (the paper model's 256×256 weight gradients), with
  // 4 k-groups when K is too short to split (the sampling projection, 64 rows)
  assert.deepEqual(chooseMatmulConfig(gpuRt, 100, 100, 300), MATMUL_CONFIGS["32x32kg4"]);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 64, 256, 256), MATMUL_CONFIGS["32x32kg4"]);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 256, 256, 1152), MATMUL_CONFIGS["32x32"]);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 64, 256, 256, 2), MATMUL_CONFIGS["32x32kg4"]);
  // under a wave of 64×64 tiles without split-K: 64×64 with flat tiles
  assert.deepEqual(chooseMatmulConfig(gpuRt, 1152, 256, 256), MATMUL_CONFIGS["64x64"]);
  // a short K with ≥ 256 workgroups of 64×32 (the paper model's MLP at batch 16), but not a long K
  assert.deepEqual(chooseMatmulConfig(gpuRt, 1152, 1024, 256), MATMUL_CONFIGS["64x32"]);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 1152, 1024, 256, 1, true), MATMUL_CONFIGS["64x32"]);
  // a wave of 64×64 tiles with split-K: nested tiles
  assert.deepEqual(chooseMatmulConfig(gpuRt, 1152, 256, 1024), MATMUL_CONFIGS["64x64n"]);
  assert.equal(chooseSplitK(MATMUL_CONFIGS["64x64n"], 1152, 256, 1024), 3);
  // the 128×128 class: nested tiles without prefetch, f32 and f16
  const np = MATMUL_CONFIGS["128x128np"];
  assert.deepEqual(chooseMatmulConfig(gpuRt, 4096, 4096, 512), np);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 4096, 4096, 4096, 1, false, true), np);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 4096, 512, 2048), np);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 4096, 2048, 512), np);
  assert.deepEqual(chooseMatmulConfig(gpuRt, 4096, 512, 2048, 1, false, true), np);
  // split-K only for single GEMMs with few tiles and a long K (weight gradients)
  assert.deepEqual(chooseMatmulConfig(gpuRt, 768, 768, 8192), np);
  // it needs 16 KiB of workgroup memory, so a 16 KiB device takes it too
  const small = {
    gpu: { ...gpuRt.gpu, limits: { ...rt.gpu.limits, maxComputeWorkgroupStorageSize: 16384 } },
  } as typeof rt;
  assert.deepEqual(chooseMatmulConfig(small, 4096, 4096, 4096), np);
  assert.equal(configWorkgroupBytes(np), 16384);
  assert.equal(configProblem(small, { ...MATMUL_CONFIGS["128x128db"], half: true }, true, true), null);
  assert.match(
    configProblem(small, { ...MATMUL_CONFIGS["128x128db"], half: true }, true, false) ?? "",
    /16384/,
  );
  assert.equal(chooseSplitK(chooseMatmulConfig(gpuRt, 768, 768, 8192), 768, 768, 8192), 7);
  assert.equal(chooseSplitK(chooseMatmulConfig(gpuRt, 768, 768, 8192, 4), 768, 768, 8192, 4), 1);
  assert.equal(chooseSplitK(chooseMatmulConfig(gpuRt, 4096, 4096, 4096), 4096, 4096, 4096), 1);
  // The software adapter: the texture kernel, 8×8 blocks from 17 rows on, split-K when few groups.
  const cpuRt = { gpu: { ...rt.gpu, info: { ...rt.gpu.info, fallback: true } } } as typeof rt;
  assert.deepEqual(chooseMatmulConfig(cpuRt, 512, 512, 512), MATMUL_CONFIGS["tex8x8"]);
  assert.deepEqual(chooseMatmulConfig(cpuRt, 64, 256, 512), MATMUL_CONFIGS["tex8x8"]);
  assert.deepEqual(chooseMatmulConfig(cpuRt, 64, 64, 1536), MATMUL_CONFIGS["tex8x8"]);
  assert.deepEqual(chooseMatmulConfig(cpuRt, 16, 64, 64), MATMUL_CONFIGS["tex4x4"]);
  assert.deepEqual(chooseMatmulConfig(cpuRt, 48, 48, 16, 32), MATMUL_CONFIGS["tex8x8"]);
  assert.equal(chooseSplitK(MATMUL_CONFIGS["tex8x8"], 64, 64, 1536), 6);
  assert.equal(chooseSplitK(MATMUL_CONFIGS["tex4x4"], 32, 32, 1536), 4);
  assert.equal(chooseSplitK(MATMUL_CONFIGS["tex4x4"], 64, 64, 200), 1);
  assert.equal(chooseSplitK(MATMUL_CONFIGS["tex8x8"], 512, 512, 4096), 1);
  assert.match(configProblem(rt, { kind: "tex", TM: 2, TN: 4, WX: 8, WY: 8 }) ?? "", /TM and TN/);
  assert.match(configProblem(rt, { kind: "tex", TM: 4, TN: 4, WX: 64, WY: 64 }) ?? "", /threads/);
  assert.equal(chooseSplitK({ kind: "gemv", rows: 4 }, 4, 768, 8192), 1);
  const huge: MatmulConfig = { kind: "tile", BM: 128, BN: 128, BK: 256, TM: 8, TN: 8 };
  assert.match(configProblem(rt, huge) ?? "", /workgroup memory/);
  assert.match(configProblem(rt, { kind: "tile", BM: 64, BN: 64, BK: 16, TM: 3, TN: 4 }) ?? "", /TM and TN/);
  const a = tensorFrom(rt, [1, 2, 3, 4], [2, 2]);
  assert.throws(() => matmulRaw(a, a, { config: huge }), /workgroup memory/);
  assert.throws(() => matmulRaw(a, tensorFrom(rt, [1, 2, 3], [3, 1])), /inner dimensions/);
  assert.throws(() => matmulRaw(a, a, { bias: tensorFrom(rt, [1, 2, 3], [3]) }), /bias/);
  assert.throws(() => matmulRaw(a, tensorFrom(rt, [1, 2], [2, 1], { dtype: "i32" })), /f32 or f16/);
});

Deno.test("forward: every configuration × transpose (vec4 paths)", async () => {
  for (const config of CONFIGS) {
    for (const o of TRANSPOSES) {
      for (const [M, N, K] of ALIGNED) await checkForward(...shapes(M, N, K, o), { ...o, config });
    }
  }
});

// The tile options: double buffering, swizzled transposed stores, L2 grouping, f16 workgroup tiles.
const OPTION_CONFIGS: TileConfig[] = [
  { kind: "tile", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, db: true, swizzle: true, group: 2 },
  { kind: "tile", BM: 32, BN: 32, BK: 32, TM: 4, TN: 4, swizzle: true, unroll: 4 },
  { kind: "tile", BM: 64, BN: 32, BK: 8, TM: 8, TN: 4, db: true, swizzle: true, group: 3, unroll: 4 },
];

Deno.test("forward: double buffering, swizzle and grouping, every transpose", async () => {
  for (const config of OPTION_CONFIGS) {
    for (const o of TRANSPOSES) {
      await checkForward(...shapes(132, 136, 44, o), { ...o, config });
      await checkForward(...shapes(17, 33, 65, o), { ...o, config });
    }
  }
  // batched, and split-K with the double-buffered kernel
  const config = OPTION_CONFIGS[0];
  await checkForward(...shapes(20, 68, 36, TRANSPOSES[1], [3], [3]), { ...TRANSPOSES[1], config });
  await checkForward([36, 600], [600, 40], { config, splitK: 2, biasN: 40, activation: "gelu" });
});

// Thread tiles 16 outputs tall or wide (16 vec4 accumulators per 4 rows or columns).
const WIDE_CONFIGS: TileConfig[] = [
  { kind: "tile", BM: 64, BN: 32, BK: 8, TM: 16, TN: 8, db: true, swizzle: true },
  { kind: "tile", BM: 32, BN: 64, BK: 8, TM: 4, TN: 16, unroll: 4 },
];

Deno.test("forward: 16-wide thread tiles, every transpose", async () => {
  // Between them the two cover every transpose, vec4 and scalar loads, and the epilogue.
  for (const [i, config] of WIDE_CONFIGS.entries()) {
    for (const o of TRANSPOSES.slice(2 * i, 2 * i + 2)) {
      await checkForward(...shapes(68, 72, 44, o), { ...o, config });
    }
  }
  await checkForward(...shapes(17, 33, 65, {}), { config: WIDE_CONFIGS[1], biasN: 33, withAddend: true });
});

// In-workgroup split-K: 2 and 4 groups of threads on one output tile, vec4 and scalar loads.
const KGROUP_CONFIGS: TileConfig[] = [
  { kind: "tile", BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, swizzle: true, kgroups: 4 },
  { kind: "tile", BM: 64, BN: 32, BK: 8, TM: 8, TN: 4, unroll: 4, kgroups: 2 },
];

Deno.test("forward: k-groups (in-workgroup split-K), every transpose, epilogue, batch and split-K", async () => {
  for (const config of KGROUP_CONFIGS) {
    for (const o of TRANSPOSES) {
      // K = 140 leaves the last group's last k-step empty; K = 65 is odd (scalar loads) and short.
      await checkForward(...shapes(68, 72, 140, o), { ...o, config });
      await checkForward(...shapes(17, 33, 65, o), { ...o, config });
    }
    await checkForward([37, 300], [300, 36], {
      config,
      alpha: 0.5,
      biasN: 36,
      withAddend: true,
      activation: "gelu",
    });
    await checkForward(...shapes(20, 12, 36, TRANSPOSES[1], [3], [3]), { ...TRANSPOSES[1], config });
    await checkForward([36, 600], [600, 40], { config, splitK: 3, biasN: 40 });
    // K shorter than one k-step per group: groups past it only add zeros.
    await checkForward([9, 4], [4, 12], { config });
  }
  assert.match(
    configProblem(rt, { ...KGROUP_CONFIGS[0], db: true }) ?? "",
    /kgroups does not combine with db/,
  );
  assert.match(configProblem(rt, { ...KGROUP_CONFIGS[0], kgroups: 0 }) ?? "", /kgroups 0/);
  // Each group's tiles plus one f32 output tile: 4 × 8 KiB + 16 KiB for 64×64 tiles with BK 16.
  const mid: TileConfig = { kind: "tile", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, kgroups: 4 };
  assert.equal(configWorkgroupBytes(mid), 4 * 8192 + 16384);
  assert.equal(configThreads(mid), 1024);
});

// Nested workgroup tiles ([buffer][k-row part][thread column]) with the options that change their
// indexing: double buffers, swizzled reads, k-groups, unroll blocks shorter than BK, f16 tiles.
const NESTED_CONFIGS: TileConfig[] = [
  { kind: "tile", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, db: true, swizzle: true, nested: true },
  { kind: "tile", BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, swizzle: true, kgroups: 2, unroll: 8, nested: true },
  { kind: "tile", BM: 64, BN: 32, BK: 8, TM: 8, TN: 4, nested: true },
];

Deno.test("forward: nested workgroup tiles, every transpose, with the tile options", async () => {
  for (const config of NESTED_CONFIGS) {
    for (const o of TRANSPOSES) {
      await checkForward(...shapes(68, 72, 140, o), { ...o, config });
      await checkForward(...shapes(17, 33, 65, o), { ...o, config });
    }
  }
  await checkForward([37, 300], [300, 36], { config: NESTED_CONFIGS[0], biasN: 36, activation: "gelu" });
  if (rt.gpu.f16) {
    const config: TileConfig = { ...NESTED_CONFIGS[0], half: true };
    for (const o of [TRANSPOSES[0], TRANSPOSES[3]]) {
      await checkForward(...shapes(68, 72, 44, o), { ...o, config, dtype: "f16" }, 1e-3);
    }
  }
  // A swizzled read XORs up to 7 into the thread column, so each side needs 8 threads.
  assert.match(
    configProblem(rt, { kind: "tile", BM: 32, BN: 32, BK: 16, TM: 8, TN: 4, swizzle: true, nested: true }) ??
      "",
    /nested with swizzle needs/,
  );
  assert.equal(configProblem(rt, { kind: "tile", BM: 32, BN: 32, BK: 16, TM: 8, TN: 4, nested: true }), null);
});

// Warp layouts of the thread grid, and loads without prefetch (with k-groups and nested tiles, issued
// before the barrier, and double-buffered).
const LAYOUT_CONFIGS: TileConfig[] = [
  { kind: "tile", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, lanes: 8 },
  { kind: "tile", BM: 64, BN: 32, BK: 8, TM: 4, TN: 4, lanes: 4, prefetch: false, kgroups: 2, nested: true },
  { kind: "tile", BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, prefetch: false, swizzle: true, early: true },
  {
    kind: "tile",
    BM: 64,
    BN: 64,
    BK: 8,
    TM: 4,
    TN: 4,
    prefetch: false,
    db: true,
    swizzle: true,
    nested: true,
  },
];

Deno.test("forward: warp layouts and loads without prefetch, every transpose", async () => {
  for (const config of LAYOUT_CONFIGS) {
    for (const o of TRANSPOSES) {
      await checkForward(...shapes(68, 72, 140, o), { ...o, config });
      await checkForward(...shapes(17, 33, 65, o), { ...o, config });
    }
  }
  await checkForward([37, 300], [300, 36], { config: LAYOUT_CONFIGS[0], biasN: 36, withAddend: true });
  const base: TileConfig = { kind: "tile", BM: 64, BN: 32, BK: 16, TM: 4, TN: 4 };
  assert.match(configProblem(rt, { ...base, lanes: 16 }) ?? "", /lanes 16 must/);
  assert.match(configProblem(rt, { ...base, lanes: 3 }) ?? "", /lanes 3 must/);
  assert.match(configProblem(rt, { ...base, early: true }) ?? "", /early needs prefetch: false/);
  assert.match(configProblem(rt, { ...base, db: true, prefetch: false, early: true }) ?? "", /early needs/);
});

Deno.test("forward: scalar loads (odd shapes) and mixed alignment, every transpose", async () => {
  for (const config of ["64x64", "gemv"] as const) {
    for (const o of TRANSPOSES) {
      for (const [M, N, K] of ODD) await checkForward(...shapes(M, N, K, o), { ...o, config });
    }
  }
  for (const o of [TRANSPOSES[0], TRANSPOSES[3]]) {
    for (const [M, N, K] of ODD) await checkForward(...shapes(M, N, K, o), { ...o, config: GEMV16 });
  }
  // M, N multiples of 4 but not K: vec4 only along M/N, i.e. for A when transposed, B when not.
  for (const o of [TRANSPOSES[0], TRANSPOSES[3]]) {
    await checkForward(...shapes(12, 8, 7, o), { ...o, config: "64x64" });
  }
  // the adaptive gemv row count (1, 4 and 16 rows per workgroup)
  for (const M of [1, 3, 6]) await checkForward([M, 9], [9, 10], { config: "gemv" });
});

Deno.test("forward: a custom tile with fewer load units than threads, and the heuristic", async () => {
  // A: 32 vec4 units for 16 threads (two slots each); B: 8 units for 16 threads (guarded); unroll 2.
  const config: MatmulConfig = { kind: "tile", BM: 32, BN: 8, BK: 4, TM: 4, TN: 4, unroll: 2 };
  for (const o of [TRANSPOSES[0], TRANSPOSES[3]]) {
    await checkForward(...shapes(35, 17, 9, o), { ...o, config });
    await checkForward(...shapes(36, 20, 12, o), { ...o, config });
  }
  await checkForward([130, 67], [67, 129]);
  await checkForward([5, 67], [67, 129]);
});

Deno.test("forward: batched with broadcasting", async () => {
  const cases: [number[], number[], number, number, number][] = [
    [[2, 3], [], 5, 7, 9], // shared B: batch folded into M
    [[2, 3], [], 20, 7, 9], // the same through the tiled kernel
    [[4], [4], 5, 7, 9], // [B,M,K]·[B,K,N]
    [[4], [4], 20, 7, 9],
    [[], [3], 6, 5, 7], // shared A
    [[], [3], 20, 5, 7],
    [[2, 1], [1, 3], 5, 6, 7], // two batch dims broadcast against each other
    [[3, 1, 2], [4, 1], 5, 6, 7], // three, one merged away
    [[1], [], 5, 6, 7], // size-1 batch
  ];
  for (const [aB, bB, M, N, K] of cases) {
    for (const o of [TRANSPOSES[0], TRANSPOSES[3]]) {
      await checkForward(...shapes(M, N, K, o, aB, bB), { ...o });
    }
  }
  for (const o of TRANSPOSES) await checkForward(...shapes(20, 7, 9, o, [4], [4]), { ...o, config: "64x64" });
  await checkForward(...shapes(20, 7, 9, TRANSPOSES[0], [2, 1], [1, 3]), { config: "64x64" });
});

Deno.test("forward: fused bias and GELU epilogue", async () => {
  for (const config of ["64x64", "gemv"] as const) {
    await checkForward([19, 13], [13, 21], { config, biasN: 21, activation: "gelu" });
    await checkForward([19, 12], [20, 12], { config, transB: true, biasN: 20, activation: "gelu" });
  }
  // K = 0: only the epilogue remains.
  await checkForward([19, 0], [0, 21], { config: "gemv", biasN: 21, activation: "gelu" });
  await checkForward([2, 19, 13], [13, 21], { biasN: 21 }); // bias alone, batch folded into M
  const empty = matmulRaw(tensorFrom(rt, [], [0, 4]), tensorFrom(rt, new Array(20).fill(1), [4, 5]));
  assert.deepEqual(empty.shape, [0, 5]);
});

Deno.test("forward: fused alpha and addend (residual) epilogue, every kernel family", async () => {
  const full = { alpha: 0.37, biasN: 21, withAddend: true, activation: "gelu" as const };
  for (const config of ["64x64", "gemv", ...TEX_CONFIGS] as const) {
    await checkForward([19, 12], [12, 20], { config, ...full, biasN: 20 });
    await checkForward([20, 12], [20, 12], { config, transB: true, alpha: -2, withAddend: true });
  }
  await checkForward([19, 13], [13, 21], { config: "gemv", ...full }); // scalar stores
  await checkForward([17, 13], [13, 21], { config: "64x64", alpha: 3, withAddend: true }); // scalar tile stores
  // split-K: the reduction applies the epilogue
  await checkForward([17, 67], [67, 33], { config: "64x64", splitK: 3, ...full, biasN: 33 });
  await checkForward([36, 88], [88, 20], { config: "tex4x8", splitK: 3, ...full, biasN: 20 });
  // batched (folded into M, and a broadcast batch)
  await checkForward([2, 19, 12], [12, 20], { ...full, biasN: 20 });
  await checkForward([3, 20, 8], [3, 8, 12], { config: "64x64", alpha: 0.5, withAddend: true });
  const x = tensorFrom(rt, new Array(12).fill(1), [3, 4]);
  assert.throws(
    () => matmulRaw(x, tensorFrom(rt, new Array(8).fill(1), [4, 2]), { addend: x }),
    /addend \[3, 4\]/,
  );
});

Deno.test("forward: split-K, with the epilogue applied by the reduction", async () => {
  for (const o of TRANSPOSES) {
    const odd = o.transA === o.transB;
    await checkForward(
      ...shapes(odd ? 17 : 36, odd ? 33 : 20, odd ? 67 : 44, o),
      { ...o, config: "64x64", splitK: odd ? 3 : 2, biasN: odd ? 33 : 20, activation: "gelu" },
    );
  }
  await checkForward([17, 67], [67, 33], { config: "64x64", splitK: 100 }); // more slices than k-steps
  await checkForward([33, 1100], [1100, 18]); // the heuristic splits this one (into 4)
});

Deno.test("forward: texture kernel edges, K tails, batches, split-K and epilogues", async () => {
  for (const config of TEX_CONFIGS) {
    // A stored [K, M] and B [K, N]: K advances one step at a time, with a tail when K % 4 != 0.
    for (const K of [7, 13]) {
      await checkForward(...shapes(12, 8, K, TRANSPOSES[2]), { ...TRANSPOSES[2], config });
    }
    // edges in M and N past a block, every transpose, bias and GELU
    for (const o of TRANSPOSES) {
      await checkForward(...shapes(68, 76, 20, o), { ...o, config, biasN: 76, activation: "gelu" });
    }
  }
  // batched (shared and broadcast operands) and split-K
  const config = "tex4x8";
  await checkForward(...shapes(20, 12, 8, TRANSPOSES[1], [2, 3], [3]), { ...TRANSPOSES[1], config });
  await checkForward(...shapes(20, 12, 8, TRANSPOSES[2], [4], []), { ...TRANSPOSES[2], config });
  for (const o of TRANSPOSES) {
    await checkForward(...shapes(36, 20, 88, o), { ...o, config, splitK: 3, biasN: 20, activation: "gelu" });
  }
  // shapes the texture kernel cannot read (a contiguous dimension not a multiple of 4) run a tile
  await checkForward([17, 33], [33, 65], { config: "tex8x8" });
  await checkForward([16, 12], [12, 6], { config: "tex4x4", biasN: 6 });
});

Deno.test("matmul on a GPU and on the software adapter: the same results", async () => {
  // The heuristic's two paths (forced with a runtime that claims the other kind of adapter).
  const a = randomValues(40 * 24, 3), b = randomValues(24 * 36, 4);
  const expected = referenceMatmul(a, [40, 24], b, [24, 36]);
  for (const fallback of [false, true]) {
    const r = new Runtime({ ...rt.gpu, info: { ...rt.gpu.info, fallback } });
    const out = matmulRaw(tensorFrom(r, a, [40, 24]), tensorFrom(r, b, [24, 36]));
    assertClose(await out.toArray(), expected, 1e-4, `fallback ${fallback}`);
  }
});

/** Gradient check of matmul for the given stored shapes and options (bias [N] when biasN is set). */
async function checkGrad(
  as: number[],
  bs: number[],
  o: {
    transA?: boolean;
    transB?: boolean;
    activation?: "gelu";
    bias?: boolean;
    alpha?: number;
    addend?: boolean;
  },
) {
  const outShape = matmulShape(as, bs, o), N = outShape.at(-1)!;
  const inputs = [
    { data: randomValues(numel(as), seed++), shape: as },
    { data: randomValues(numel(bs), seed++), shape: bs },
  ];
  if (o.bias) inputs.push({ data: randomValues(N, seed++), shape: [N] });
  if (o.addend) inputs.push({ data: randomValues(numel(outShape), seed++), shape: outShape });
  const opts = { transA: o.transA, transB: o.transB, activation: o.activation, alpha: o.alpha };
  const r = o.bias ? 3 : 2;
  const errors = await gradCheck(
    rt,
    inputs,
    (xs: Tensor[]) => matmul(xs[0], xs[1], { ...opts, bias: o.bias ? xs[2] : undefined, addend: xs[r] }),
    (xs: Float64Array[]) =>
      referenceMatmul(xs[0], as, xs[1], bs, { ...opts, bias: o.bias ? xs[2] : undefined, addend: xs[r] }),
  );
  errors.forEach((e, i) =>
    assert.ok(e < 1e-4, `[${as}]·[${bs}] ${tname(o)} ${JSON.stringify(o)}: gradient ${i} error ${e}`)
  );
}

Deno.test("backward: every transpose combination (gemv and tiled kernels)", async () => {
  for (const o of TRANSPOSES) await checkGrad(...shapes(5, 6, 7, o), o);
  for (const o of [TRANSPOSES[0], TRANSPOSES[3]]) await checkGrad(...shapes(5, 6, 7, o, [3], [3]), o);
  await checkGrad(...shapes(20, 18, 17, TRANSPOSES[0]), TRANSPOSES[0]);
  await checkGrad(...shapes(18, 20, 17, TRANSPOSES[3]), TRANSPOSES[3]);
});

Deno.test("backward: broadcast batch dimensions and a shared weight", async () => {
  for (const o of TRANSPOSES) {
    await checkGrad(...shapes(5, 6, 7, o, [2, 2], []), o); // shared B (folded dB when A is not transposed)
    await checkGrad(...shapes(5, 6, 7, o, [], [3]), o); // shared A
  }
  await checkGrad(...shapes(5, 6, 7, TRANSPOSES[0], [2, 1], [1, 3]), TRANSPOSES[0]);
  await checkGrad(...shapes(5, 6, 7, TRANSPOSES[1], [1, 2], [2, 1]), TRANSPOSES[1]);
  await checkGrad(...shapes(20, 6, 18, TRANSPOSES[1], [2], []), TRANSPOSES[1]); // tiled, folded dB
  // A weight gradient over 1030 rows: dW = Xᵀ·dY is one GEMM with K = 1030, split in two.
  const [x, w] = [randomValues(1030 * 20, seed++), randomValues(20 * 12, seed++)];
  const [err] = (await gradCheck(
    rt,
    [{ data: x, shape: [2, 515, 20] }, { data: w, shape: [20, 12] }],
    ([a, b]) => matmul(a, b),
    ([a, b]) => referenceMatmul(a, [2, 515, 20], b, [20, 12]),
    { only: [1] },
  )).slice(1);
  assert.ok(err < 1e-4, `split-K weight gradient error ${err}`);
});

Deno.test("backward: fused alpha and addend, with and without bias and GELU", async () => {
  await checkGrad([5, 7], [7, 6], { alpha: 0.4, addend: true });
  await checkGrad([5, 7], [7, 6], { alpha: 2, addend: true, bias: true, activation: "gelu" });
  await checkGrad([2, 3, 7], [7, 6], { alpha: -0.7, addend: true, activation: "gelu" }); // shared weight
  await checkGrad([7, 5], [6, 7], { transA: true, transB: true, alpha: 1.5, bias: true });
  await checkGrad([20, 17], [17, 18], { alpha: 0.5, addend: true, bias: true, activation: "gelu" }); // tiled
});

Deno.test("backward: an input's gradient from its other consumers is added in the epilogue", async () => {
  // x feeds four matmuls (one with x transposed): its gradient gathers from all of them, each matmul taking
  // what is pending as its epilogue's addend.
  const inputs = [[5, 7], [7, 6], [6, 7], [7, 6], [5, 6]].map((shape) => ({
    data: randomValues(numel(shape), seed++),
    shape,
  }));
  const errors = await gradCheck(
    rt,
    inputs,
    ([x, w1, w2, w3, w5]) => {
      const y = add(add(matmul(x, w1), matmul(x, w2, { transB: true })), matmul(x, w3));
      return matmul(y, matmul(x, w5, { transA: true }), { transB: true });
    },
    ([x, w1, w2, w3, w5]) => {
      const a = referenceMatmul(x, [5, 7], w1, [7, 6]);
      const b = referenceMatmul(x, [5, 7], w2, [6, 7], { transB: true });
      const c = referenceMatmul(x, [5, 7], w3, [7, 6]);
      const y = a.map((v, i) => v + b[i] + c[i]);
      const z = referenceMatmul(x, [5, 7], w5, [5, 6], { transA: true });
      return referenceMatmul(y, [5, 6], z, [7, 6], { transB: true });
    },
  );
  errors.forEach((e, i) => assert.ok(e < 1e-4, `gradient ${i} error ${e}`));
});

Deno.test("backward: fused bias and GELU", async () => {
  await checkGrad([2, 3, 7], [7, 6], { bias: true, activation: "gelu" });
  await checkGrad([7, 5], [6, 7], { transA: true, transB: true, bias: true, activation: "gelu" });
  await checkGrad([5, 7], [7, 6], { bias: true });
  await checkGrad([5, 7], [7, 6], { activation: "gelu" });
  await checkGrad([20, 17], [17, 18], { bias: true, activation: "gelu" }); // tiled
  // Without recording no pre-activation is kept and no graph is built.
  const a = tensorFrom(rt, randomValues(20, 1), [4, 5], { requiresGrad: true });
  const b = tensorFrom(rt, randomValues(35, 2), [5, 7]);
  const out = noGrad(() => matmul(a, b, { activation: "gelu" }));
  assert.equal(out.node, null);
  assert.equal(matmul(a, b).node?.op, "matmul");
});

Deno.test({
  name: "f16 inputs with f32 accumulation",
  ignore: !rt.gpu.f16,
  fn: async () => {
    for (const o of [TRANSPOSES[0], TRANSPOSES[3]]) {
      await checkForward(...shapes(36, 20, 44, o), { ...o, config: "64x64", dtype: "f16" }, 1e-3);
    }
    await checkForward(...shapes(17, 33, 65, {}), { config: "64x64", dtype: "f16" }, 1e-3);
    await checkForward(...shapes(132, 136, 44, {}), { config: "128x128k32", dtype: "f16" }, 1e-3);
    // the texture kernel reads f16 through rgba16float textures
    for (const o of TRANSPOSES) {
      await checkForward(...shapes(36, 20, 44, o), { ...o, config: "tex4x8", dtype: "f16" }, 1e-3);
    }
    // f16 workgroup tiles (with the other tile options), every transpose; and f16 A with f32 B
    for (const c of OPTION_CONFIGS.slice(0, 2)) {
      const config = { ...c, half: true };
      for (const o of TRANSPOSES) {
        await checkForward(...shapes(68, 72, 44, o), { ...o, config, dtype: "f16" }, 1e-3);
      }
      await checkForward(...shapes(17, 33, 65, {}), { config, dtype: "f16" }, 1e-3);
    }
    {
      const config: TileConfig = { ...OPTION_CONFIGS[0], half: true };
      const a = randomValues(40 * 24, 7), b = randomValues(24 * 36, 8);
      const out = matmulRaw(tensorFrom(rt, a, [40, 24], { dtype: "f16" }), tensorFrom(rt, b, [24, 36]), {
        config,
      });
      assertClose(
        await out.toArray(),
        referenceMatmul(Float64Array.from(Float16Array.from(a)), [40, 24], b, [24, 36]),
        1e-3,
      );
    }
    // f16 partial sums over each unrolled block (2 and 8 k-steps), f32 across blocks: K = 260 spans
    // many blocks, so dropping the f32 accumulation or one block's sum fails the check.
    for (
      const [config, o] of [[{ ...OPTION_CONFIGS[1], unroll: 2 }, TRANSPOSES[0]], [
        WIDE_CONFIGS[0],
        TRANSPOSES[3],
      ]] as const
    ) {
      const hs: TileConfig = { ...config, half: true, halfSums: true };
      await checkForward(...shapes(68, 72, 260, o), { ...o, config: hs, dtype: "f16" }, 3e-3);
    }
    assert.match(
      configProblem(rt, { ...OPTION_CONFIGS[1], halfSums: true }, true, true) ?? "",
      /halfSums needs half/,
    );
    await checkForward(...shapes(17, 33, 65, {}), { config: "gemv", dtype: "f16" }, 1e-3);
    await checkForward(...shapes(12, 20, 36, { transB: true }), {
      config: "gemv",
      transB: true,
      dtype: "f16",
    }, 1e-3);
    await checkForward([2, 20, 12], [12, 16], { dtype: "f16", biasN: 16, activation: "gelu" }, 1e-3);
    // mixed: f16 activations, f32 weights
    const a = randomValues(6 * 8, 5), b = randomValues(8 * 4, 6);
    const out = matmulRaw(tensorFrom(rt, a, [6, 8], { dtype: "f16" }), tensorFrom(rt, b, [8, 4]));
    assertClose(
      await out.toArray(),
      referenceMatmul(Float64Array.from(Float16Array.from(a)), [6, 8], b, [8, 4]),
      1e-3,
    );
  },
});

Deno.test("bias gradient: column sums in chunks on a GPU, in one pass on the software adapter", async () => {
  // Rows 2048 (32 chunks of 64), 1000 (8 of 125) and 67 (one pass); both adapter paths.
  for (const fallback of [false, true]) {
    const r = new Runtime({ ...rt.gpu, info: { ...rt.gpu.info, fallback } });
    for (const rows of [2048, 1000, 67]) {
      const N = 20;
      const g = randomValues(rows * N, seed++);
      const bias = tensorFrom(r, randomValues(N, seed++), [N], { requiresGrad: true });
      const out = matmul(
        tensorFrom(r, randomValues(rows * 8, seed++), [rows, 8]),
        tensorFrom(r, randomValues(8 * N, seed++), [8, N]),
        { bias },
      );
      backward(out, tensorFrom(r, g, [rows, N]));
      const expected = new Float64Array(N);
      for (let i = 0; i < rows * N; i++) expected[i % N] += g[i];
      assertClose(await bias.grad!.toArray(), expected, 1e-5, `rows ${rows}, fallback ${fallback}`);
    }
  }
});
