/**
 * Test helpers for the DIR losses: tolerance checks and central finite differences (float64).
 *
 * @module
 */

import assert from "node:assert/strict";

/** Asserts that two vectors agree entry-wise within `tol` (absolute). */
export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9): void {
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `[${i}]: ${actual[i]} ≉ ${expected[i]} (tol ${tol})`,
    );
  }
}

/** Asserts |actual − expected| ≤ tol. */
export function assertNear(actual: number, expected: number, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} ≉ ${expected} (tol ${tol})`);
}

/** The central-difference gradient of `f` at `x`, step `h` per coordinate. */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-6): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x0 = xs[i];
    xs[i] = x0 + h;
    const up = f(xs);
    xs[i] = x0 - h;
    const down = f(xs);
    xs[i] = x0;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}
