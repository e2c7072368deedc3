/**
 * Test helpers for the rewards: answer texts and a tolerance check on B×K matrices.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The well-formed answer text of `v`. */
export function answer(v: number | string): string {
  return `<answer>${v}</answer>`;
}

/** B rows of well-formed answers. */
export function answers(rows: readonly (readonly number[])[]): string[][] {
  return rows.map((row) => row.map(answer));
}

/** Asserts that two B×K matrices agree entry-wise within `tol`. */
export function assertClose(actual: number[][], expected: number[][], tol = 1e-6): void {
  assert.equal(actual.length, expected.length, "rows");
  actual.forEach((row, i) => {
    assert.equal(row.length, expected[i].length, `row ${i} length`);
    row.forEach((v, k) =>
      assert.ok(Math.abs(v - expected[i][k]) <= tol, `[${i}][${k}]: ${v} ≉ ${expected[i][k]} (tol ${tol})`)
    );
  });
}
