import assert from "node:assert/strict";
import { averageRanks, ccc, errorMetrics, GM_EPSILON, moments, pearson, spearman } from "./metrics.ts";

const close = (actual: number | null, expected: number, tol = 1e-9) => {
  assert.ok(actual !== null, `expected ${expected}, got null`);
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≉ ${expected}`);
};

Deno.test("errorMetrics: MAE, MSE and GM by hand", () => {
  const m = errorMetrics([2, 0, 5, 4]);
  assert.equal(m.n, 4);
  close(m.mae, 11 / 4);
  close(m.mse, 45 / 4);
  // GM with the epsilon: exp(mean(ln(|e| + 1e-10))); the exact hit contributes ln(1e-10).
  close(m.gm, Math.exp((Math.log(2) + Math.log(1e-10) + Math.log(5) + Math.log(4)) / 4));
  close(errorMetrics([1, 2, 4]).gm, 2); // cube root of 8
  close(errorMetrics([0, 0]).gm, GM_EPSILON);
  close(errorMetrics([-3]).mae, 3); // signed errors are taken as absolute
});

Deno.test("errorMetrics: an empty subset reports n = 0 and null metrics", () => {
  assert.deepEqual(errorMetrics([]), { n: 0, mae: null, mse: null, gm: null });
});

Deno.test("pearson by hand, and null where undefined", () => {
  close(pearson([1, 2, 3], [1, 2, 3]), 1);
  close(pearson([1, 2, 3], [3, 2, 1]), -1);
  close(pearson([1, 2, 3, 4], [2, 1, 4, 3]), 0.6);
  assert.equal(pearson([5, 5, 5], [1, 2, 3]), null);
  assert.equal(pearson([1], [1]), null);
  // A constant whose mean does not round-trip exactly in float64 is still constant.
  assert.equal(pearson(Array(1000).fill(38.3123), Array.from({ length: 1000 }, (_, i) => i)), null);
});

Deno.test("spearman uses average ranks for ties", () => {
  assert.deepEqual(Array.from(averageRanks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  assert.deepEqual(Array.from(averageRanks([3, 1, 3, 3])), [3, 1, 3, 3]);
  close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), Math.sqrt(0.9));
  close(spearman([1, 10, 100, 1000], [1, 2, 3, 4]), 1); // monotone, not linear
  assert.equal(spearman([1, 1], [1, 2]), null);
});

Deno.test("ccc: Lin's population form matches the test vector", () => {
  close(ccc([2.5, 0, 2, 8], [3, -0.5, 2, 7]), 0.976789, 1e-6);
  close(ccc([1, 2, 3], [1, 2, 3]), 1);
  // A constant prediction has zero covariance: CCC 0, not NaN.
  close(ccc(Array(1000).fill(38.3123), Array.from({ length: 1000 }, (_, i) => i)), 0);
  // A shift lowers CCC though Pearson stays 1.
  close(ccc([2, 3, 4], [1, 2, 3]), 2 * (2 / 3) / (2 / 3 + 2 / 3 + 1));
  assert.equal(ccc([4, 4], [4, 4]), null);
  assert.equal(ccc([], []), null);
});

Deno.test("moments are population (1/n) moments", () => {
  const m = moments([1, 2, 3, 4], [2, 4, 6, 8]);
  close(m.meanX, 2.5);
  close(m.varX, 1.25);
  close(m.varY, 5);
  close(m.cov, 2.5);
  assert.throws(() => moments([1], [1, 2]), RangeError);
});
