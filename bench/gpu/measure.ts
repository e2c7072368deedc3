/**
 * GPU timing for benchmarks: run recorded work repeatedly, submit, and wait with a tiny readback (the
 * only sync Deno's WebGPU offers reliably), so the time per iteration includes the GPU work but the
 * ~10 ms readback floor is paid once per batch, not per iteration. Also the two roofline probes the
 * kernel benchmarks compare against: peak FMA throughput and copy bandwidth, measured on the adapter.
 *
 * @module
 */

import type { Program, Runtime } from "./runtime.ts";
import { Tensor } from "./tensor.ts";

/** Waits until all submitted GPU work is done. */
export async function sync(rt: Runtime, probe?: Tensor): Promise<void> {
  const t = probe ?? new Tensor(rt, [1]);
  await rt.read(t.buffer, 4);
  if (!probe) t.release();
}

/**
 * Milliseconds per call of `record` (which records GPU work), measured over enough repetitions to last
 * at least `minMs` (and at most `maxIters`), after one warm-up call.
 */
export async function timeGpu(
  rt: Runtime,
  record: () => void,
  options: { minMs?: number; maxIters?: number } = {},
): Promise<number> {
  const minMs = options.minMs ?? 300, maxIters = options.maxIters ?? 1000;
  record();
  await sync(rt);
  let iters = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) {
      record();
      // Submit every few iterations so one command buffer never grows without bound.
      if (i % 16 === 15) rt.flush();
    }
    await sync(rt);
    const ms = performance.now() - t0;
    if (ms >= minMs || iters >= maxIters) return ms / iters;
    iters = Math.min(maxIters, Math.max(iters * 2, Math.ceil((iters * minMs) / Math.max(ms, 1e-3))));
  }
}

/**
 * GPU milliseconds per call of `record`, from timestamp queries: each dispatch runs in a pass of its own
 * and the call's time is the sum of its dispatches' pass times (a split-K GEMM: both kernels), averaged
 * over `iters` calls after one warm-up. Unlike {@linkcode timeGpu} it leaves out the host's recording
 * time and the gaps between dispatches, so for small kernels it shows what the kernel itself costs.
 * Null when the adapter lacks `timestamp-query`.
 */
export async function timeKernels(rt: Runtime, record: () => void, iters: number): Promise<number | null> {
  if (!rt.gpu.timestamps) return null;
  record();
  await sync(rt);
  rt.startProfile();
  for (let i = 0; i < iters; i++) record();
  const kernels = await rt.stopProfile();
  return kernels.reduce((sum, k) => sum + k.ms, 0) / iters;
}

const FMA_WG = 256;
/** Independent vec4 FMA chains per thread and iterations per chain of the FMA probe. */
const CHAINS = 8, FMA_ITERS = 256;

const fmaProgram: Program = {
  key: "probe:fma",
  code: () =>
    `@group(0) @binding(0) var<storage, read_write> O: array<vec4<f32>>;
@compute @workgroup_size(${FMA_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let seed = f32(gid.x) * 1e-7;
  ${
      Array.from(
        { length: CHAINS },
        (_, c) => `var a${c} = vec4<f32>(seed + ${c}.0, seed, seed * 2.0, seed * 3.0);`,
      ).join("\n  ")
    }
  let m = vec4<f32>(0.9999, 0.9998, 0.9997, 0.9996);
  let k = vec4<f32>(1e-4, 2e-4, 3e-4, 4e-4);
  // Unrolled 16 deep, so loop bookkeeping (and wgpu's loop bounding) does not dilute the FMAs.
  for (var i = 0u; i < ${FMA_ITERS / 16}u; i++) {
    ${
      Array.from({ length: 16 }, () =>
        Array.from({ length: CHAINS }, (_, c) => `a${c} = fma(a${c}, m, k);`).join(" "))
        .join("\n    ")
    }
  }
  O[gid.x] = ${Array.from({ length: CHAINS }, (_, c) => `a${c}`).join(" + ")};
}`,
};

/** Peak f32 FMA throughput of the adapter in GFLOP/s (one FMA = 2 FLOPs), from a register-only kernel. */
export async function measureFmaPeak(rt: Runtime, workgroups: number): Promise<number> {
  const out = new Tensor(rt, [workgroups * FMA_WG * 4]);
  const ms = await timeGpu(rt, () => rt.dispatch(fmaProgram, [out.buffer], [workgroups]));
  out.release();
  const flops = workgroups * FMA_WG * CHAINS * FMA_ITERS * 4 * 2;
  return flops / (ms * 1e6);
}

const copyProgram: Program = {
  key: "probe:copy",
  code: () =>
    `@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> B: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < arrayLength(&A)) { B[i] = A[i]; }
}`,
};

/** Device-memory copy bandwidth in GB/s (bytes read + written) over a buffer of `megabytes`. */
export async function measureBandwidth(rt: Runtime, megabytes: number): Promise<number> {
  const n = (megabytes * (1 << 20)) / 4;
  const a = new Tensor(rt, [n]), b = new Tensor(rt, [n]);
  const vec4s = n / 4, groups = Math.ceil(vec4s / 256);
  const max = rt.gpu.limits.maxComputeWorkgroupsPerDimension;
  const dims: [number, number] = groups <= max ? [groups, 1] : [max, Math.ceil(groups / max)];
  const ms = await timeGpu(rt, () => rt.dispatch(copyProgram, [a.buffer, b.buffer], dims));
  a.release();
  b.release();
  return (2 * n * 4) / (ms * 1e6);
}

const emptyProgram: Program = {
  key: "probe:empty",
  code: () =>
    `@group(0) @binding(0) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) { if (gid.x == 0u) { O[0] = O[0] + 1.0; } }`,
};

/**
 * Per-dispatch costs in microseconds: in a shared pass, and as separate submits; the host's share of a
 * dispatch (recording it, without the GPU) when its bind group is cached and when it must be created;
 * readback latency; and the kernel timer's floor (an empty dispatch by {@linkcode timeKernels}; null
 * without timestamps).
 */
export async function measureOverheads(rt: Runtime, count: number): Promise<{
  dispatchUs: number;
  submitUs: number;
  encodeUs: number;
  encodeNewBindGroupUs: number;
  readbackMs: number;
  kernelFloorUs: number | null;
}> {
  const t = new Tensor(rt, [64]);
  const shared = await timeGpu(rt, () => {
    for (let i = 0; i < count; i++) rt.dispatch(emptyProgram, [t.buffer], [1]);
  }, { minMs: 200, maxIters: 50 });
  const separate = await timeGpu(rt, () => {
    for (let i = 0; i < count / 10; i++) {
      rt.dispatch(emptyProgram, [t.buffer], [1]);
      rt.flush();
    }
  }, { minMs: 200, maxIters: 50 });
  // Host time only: `count` dispatches recorded into one pass, on one buffer (the bind group is cached
  // after the first) and on `count` fresh buffers (each needs a new bind group).
  const fresh = Array.from({ length: count }, () => new Tensor(rt, [64]));
  const hostUs = (buffers: readonly Tensor[]) => {
    const t0 = performance.now();
    for (const b of buffers) rt.dispatch(emptyProgram, [b.buffer], [1]);
    return ((performance.now() - t0) * 1000) / buffers.length;
  };
  hostUs([t]);
  const encodeUs = hostUs(Array.from({ length: count }, () => t));
  const encodeNewBindGroupUs = hostUs(fresh);
  await sync(rt, t);
  for (const f of fresh) f.release();
  // The floor of {@linkcode timeKernels}: an empty dispatch timed as it times kernels (a pass of its own
  // between timestamps), which a small kernel's time includes.
  const floorMs = await timeKernels(rt, () => rt.dispatch(emptyProgram, [t.buffer], [1]), 50);
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await sync(rt, t);
    reads.push(performance.now() - t0);
  }
  t.release();
  reads.sort((x, y) => x - y);
  return {
    dispatchUs: (shared * 1000) / count,
    submitUs: (separate * 1000) / (count / 10),
    encodeUs,
    encodeNewBindGroupUs,
    readbackMs: reads[2],
    kernelFloorUs: floorMs === null ? null : floorMs * 1000,
  };
}
