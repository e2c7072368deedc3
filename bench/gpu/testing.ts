/**
 * Test helpers for GPU ops: the default device, seeded random data, the error measure the kernel tests
 * use (max abs difference over max magnitude), and a gradient check of the GPU backward against
 * central finite differences of the float64 CPU reference.
 *
 * @module
 */

import { seededRng } from "../core/rng.ts";
import { backward } from "./autograd.ts";
import { defaultGpu } from "./device.ts";
import { Runtime, runtimeFor } from "./runtime.ts";
import { type Tensor, tensorFrom } from "./tensor.ts";

/** The runtime of the default GPU (the software adapter in CI). Throws when there is no adapter. */
export async function testRuntime(): Promise<Runtime> {
  return runtimeFor(await defaultGpu());
}

/**
 * A second runtime on the default device that may launch at most `maxGroups` workgroups per dimension, so
 * tests can force the 2-D dispatch grids that large tensors need on small inputs.
 */
export async function smallGridRuntime(maxGroups = 3): Promise<Runtime> {
  const gpu = await defaultGpu();
  const limits = {
    maxComputeWorkgroupsPerDimension: maxGroups,
    maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
  } as GPUSupportedLimits;
  return new Runtime({ ...gpu, limits });
}

/** `n` seeded values, uniform in [lo, hi). */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const rng = seededRng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** max |a − e| / max(max |e|, tiny): the relative error the kernel tests bound. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new RangeError(`length ${actual.length} vs ${expected.length}`);
  }
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Throws when the relative error exceeds `tol`, showing where. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-4,
  what = "values",
) {
  const err = relativeError(actual, expected);
  if (!(err <= tol)) {
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      if (Math.abs(actual[i] - expected[i]) > Math.abs(actual[worst] - expected[worst])) worst = i;
    }
    throw new Error(
      `${what}: relative error ${err.toExponential(2)} > ${tol} (worst at ${worst}: ${actual[worst]} vs ${
        expected[worst]
      })`,
    );
  }
}

/**
 * Checks the GPU backward of `gpuFn` against central differences of `cpuFn` (float64): both map the
 * inputs to one output; the loss is Σ output · w for fixed random weights w, so every output element's
 * gradient path is exercised. Returns the relative error per input.
 */
export async function gradCheck(
  rt: Runtime,
  inputs: { data: Float64Array; shape: number[] }[],
  gpuFn: (xs: Tensor[]) => Tensor,
  cpuFn: (xs: Float64Array[]) => Float64Array,
  options: { eps?: number; seed?: number; only?: number[] } = {},
): Promise<number[]> {
  const eps = options.eps ?? 1e-3;
  const xs = inputs.map((x) => tensorFrom(rt, x.data, x.shape, { requiresGrad: true }));
  const out = gpuFn(xs);
  const w = randomValues(out.size, options.seed ?? 99);
  backward(out, tensorFrom(rt, w, out.shape));
  const loss = (vals: Float64Array[]) => {
    const y = cpuFn(vals);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w[i];
    return s;
  };
  const errors: number[] = [];
  for (let k = 0; k < inputs.length; k++) {
    if (options.only && !options.only.includes(k)) {
      errors.push(0);
      continue;
    }
    const analytic = await xs[k].grad!.toArray();
    const numeric = new Float64Array(inputs[k].data.length);
    const vals = inputs.map((x) => Float64Array.from(x.data));
    for (let i = 0; i < numeric.length; i++) {
      const keep = vals[k][i];
      vals[k][i] = keep + eps;
      const up = loss(vals);
      vals[k][i] = keep - eps;
      const down = loss(vals);
      vals[k][i] = keep;
      numeric[i] = (up - down) / (2 * eps);
    }
    errors.push(relativeError(analytic, numeric));
  }
  for (const x of xs) {
    x.grad?.release();
    x.release();
  }
  out.release();
  return errors;
}
