import assert from "node:assert/strict";
import { binCenter, binCounts, binOf, integerBins } from "./bins.ts";

Deno.test("binOf: integer bins clamp at both ends (methods.md §7.1)", () => {
  const spec = integerBins(10);
  assert.deepEqual([-3, 0, 0.99, 1, 4.5, 9, 9.9, 120].map((y) => binOf(y, spec)), [0, 0, 0, 1, 4, 9, 9, 9]);
});

Deno.test("binOf: equal-width bins with an offset", () => {
  const spec = { min: 10, binWidth: 5, bins: 4 };
  assert.deepEqual([9, 10, 14.9, 15, 29.9, 30, 100].map((y) => binOf(y, spec)), [0, 0, 0, 1, 3, 3, 3]);
  assert.equal(binCenter(1, spec), 17.5);
});

Deno.test("binOf: rejects non-finite labels and bad specs", () => {
  assert.throws(() => binOf(NaN, integerBins(3)), RangeError);
  assert.throws(() => binOf(1, { min: 0, binWidth: 0, bins: 3 }), RangeError);
  assert.throws(() => binOf(1, { min: 0, binWidth: 1, bins: 0 }), RangeError);
});

Deno.test("binCounts: counts per bin", () => {
  assert.deepEqual(Array.from(binCounts([0, 1, 1, 2.5, 7, -1], integerBins(4))), [2, 2, 1, 1]);
});
