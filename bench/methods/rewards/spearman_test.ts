import assert from "node:assert/strict";
import { answers, assertClose } from "./_testing.ts";
import { spearman } from "./spearman.ts";

Deno.test("spearman: the methods.md §8.2 ties test vector as a batch-level reward", () => {
  // With K = 1 the anchors are the predictions, so every vector is x = [1,2,2,3] against y = [10,20,30,30]
  // up to a common permutation: ρ_s = 0.833333 (average ranks [1,2.5,2.5,4] and [1,2,3.5,3.5]).
  const r = spearman.compute({ labels: [10, 20, 30, 30], outputs: answers([[1], [2], [2], [3]]) }, {
    labelRange: [0, 100],
  });
  assertClose(r, [[5 / 6], [5 / 6], [5 / 6], [5 / 6]], 1e-12);
  assert.ok(Math.abs(r[0][0] - 0.833333) < 1e-6);
});

Deno.test("spearman: each generation replaces its sample's anchor; a constant vector scores 0", () => {
  const ctx = { labelRange: [0, 100] as const };
  const r = spearman.compute({ labels: [10, 20, 30], outputs: answers([[5, 50], [20, 20], [30, 30]]) }, ctx);
  // anchors 27.5, 20, 30: [5, 20, 30] is in order (1); [50, 20, 30] is not (−0.5).
  assertClose(r.slice(0, 1), [[1, -0.5]], 1e-12);
  const flat = spearman.compute({ labels: [10, 20], outputs: answers([[7, 7], [7, 7]]) }, ctx);
  assert.deepEqual(flat, [[0, 0], [0, 0]]);
});
