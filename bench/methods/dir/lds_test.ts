import assert from "node:assert/strict";
import { assertAllClose, assertNear } from "./_testing.ts";
import { integerBins } from "./bins.ts";
import { convolveZeroPad, gaussianFilter1d, kernelWindow, ldsWeights } from "./lds.ts";

// Training labels 0..9 with counts [0,10,50,100,50,10,5,1,0,0] (methods.md §7.1 test vector).
const COUNTS = [0, 10, 50, 100, 50, 10, 5, 1, 0, 0];
const LABELS = COUNTS.flatMap((n, y) => Array<number>(n).fill(y));

Deno.test("kernelWindow: gaussian ks 5 σ 2, max- and sum-normalised (methods.md §7.1, §7.2)", () => {
  const spec = { kernel: "gaussian" as const, ks: 5, sigma: 2 };
  assertAllClose(kernelWindow(spec), [0.858285, 0.945828, 1, 0.945828, 0.858285], 5e-7);
  assertAllClose(kernelWindow(spec, "sum"), [0.186251, 0.205248, 0.217003, 0.205248, 0.186251], 5e-7);
});

Deno.test("gaussianFilter1d: matches scipy (reflect, truncate 4) to float64 precision", () => {
  // scipy 1.17: gaussian_filter1d of [0,0,1,0,0] σ 2, [1,2,3] σ 0.5, and [1,0,0,5] σ 3, whose radius 12
  // reflects three times over the length-4 input.
  assertAllClose(
    gaussianFilter1d([0, 0, 1, 0, 0], 2),
    [0.18625069, 0.20524768, 0.21700326, 0.20524768, 0.18625069],
    5e-9,
  );
  assertAllClose(gaussianFilter1d([1, 2, 3], 0.5), [1.1072423672218035, 2, 2.892757632778196], 1e-14);
  assertAllClose(
    gaussianFilter1d([1, 0, 0, 5], 3),
    [1.393656576029796, 1.4558964126576976, 1.5440440254611216, 1.606402985851385],
    1e-14,
  );
});

Deno.test("kernelWindow: triang and laplace", () => {
  assertAllClose(kernelWindow({ kernel: "triang", ks: 5, sigma: 0 }), [1 / 3, 2 / 3, 1, 2 / 3, 1 / 3], 1e-15);
  const e = Math.exp(-1 / 2);
  assertAllClose(kernelWindow({ kernel: "laplace", ks: 3, sigma: 2 }), [e, 1, e], 1e-15);
  assert.throws(() => kernelWindow({ kernel: "gaussian", ks: 4, sigma: 1 }), RangeError);
});

Deno.test("convolveZeroPad: zero outside the array", () => {
  assertAllClose(convolveZeroPad([1, 0, 0, 2], [0.5, 1, 0.5]), [1, 0.5, 1, 2], 1e-15);
});

Deno.test("ldsWeights: the methods.md §7.1 test vector (sqrt_inv + gaussian 5/2, the defaults)", () => {
  const w = ldsWeights(LABELS, { bins: integerBins(10) });
  assertAllClose(w.binWeights.slice(1, 8), [1.3881, 0.9999, 0.8883, 0.9301, 1.1953, 2.0901, 4.3894], 5e-5);
  const sw = w.sampleWeights(LABELS);
  assertNear(sw.reduce((a, b) => a + b, 0) / sw.length, 1, 1e-12);
  assert.equal(w.sampleWeights([3.7])[0], w.binWeights[3]);
});

Deno.test("ldsWeights: inverse clips counts to [5, 1000]; none is all ones", () => {
  const w = ldsWeights(LABELS, { bins: integerBins(10), reweight: "inverse", lds: false });
  // 1/clip(n) ∝ [1/10, 1/50, 1/100, 1/50, 1/10, 1/5, 1/5] for labels 1..7, mean 1 over samples.
  const raw = [10, 50, 100, 50, 10, 5, 5].map((n) => 1 / n);
  const s = LABELS.length / LABELS.reduce((a, y) => a + raw[y - 1], 0);
  assertAllClose(w.binWeights.slice(1, 8), raw.map((r) => r * s), 1e-12);
  assert.deepEqual(
    Array.from(ldsWeights(LABELS, { bins: integerBins(10), reweight: "none", lds: false }).binWeights),
    Array(10).fill(1),
  );
  assert.throws(() => ldsWeights(LABELS, { bins: integerBins(10), reweight: "none" }), RangeError);
});
