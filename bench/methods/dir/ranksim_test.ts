import assert from "node:assert/strict";
import { seededRng } from "../../core/rng.ts";
import { assertAllClose, assertNear, numericGrad } from "./_testing.ts";
import {
  blackboxRankGrad,
  cosineSimilarity,
  cosineSimilarityBackward,
  dedupRows,
  type Ranker,
  rankNormalised,
  ranksimLoss,
} from "./ranksim.ts";

// A smooth stand-in for the ranker, so the chain through cosine and normalisation can be checked by
// finite differences (the true ranker is piecewise constant).
const IDENTITY: Ranker = { forward: (s) => s.slice(), backward: (_s, _r, g) => g.slice() };

Deno.test("rankNormalised: descending, (rank + 1)/n, ties to the later index", () => {
  assertAllClose(rankNormalised([0.3, 0.9, 0.1]), [2 / 3, 1 / 3, 1], 0);
  assertAllClose(rankNormalised([1, 1, 0]), [2 / 3, 1 / 3, 1], 0);
  assertAllClose(rankNormalised([-1, 0, -1, -2]), [3 / 4, 1 / 4, 2 / 4, 1], 0);
});

Deno.test("blackboxRankGrad: the worked example of methods.md §7.3 step 4", () => {
  // s = [0.3, 0.9, 0.1] ranks [2/3, 1/3, 1]; s + 2·[1, 0, −1] = [2.3, 0.9, −1.9] ranks [1/3, 2/3, 1];
  // −([2/3, 1/3, 1] − [1/3, 2/3, 1])/(2 + 1e-8) = [−1/3, 1/3, 0]/(2 + 1e-8).
  const g = blackboxRankGrad([0.3, 0.9, 0.1], [1, 0, -1], 2);
  assertAllClose(g, [-1 / 3 / (2 + 1e-8), 1 / 3 / (2 + 1e-8), 0], 1e-16);
  // A step too small to swap anything gives no gradient.
  assertAllClose(blackboxRankGrad([0.3, 0.9, 0.1], [0.01, 0, -0.01], 2), [0, 0, 0], 0);
});

Deno.test("ranksimLoss: a hand-checked batch of three (γ = 100)", () => {
  // ẑ = [1,0], [1,1]/√2, [0,1]; labels 0, 2, 1. Row 0: R^z = [1/3, 2/3, 1], R^y = rank(−[0, 2, 1]) =
  // [1/3, 1, 2/3], mean squared difference 2/27. Rows 1 and 2 agree (their ties fall the same way).
  const r = ranksimLoss([1, 0, 1, 1, 0, 1], [0, 2, 1], { rng: seededRng(1) });
  assertNear(r.loss, (100 * 2) / 27, 1e-12);
  assert.deepEqual(r.selected, [0, 1, 2]);
  // The default λ is 2: the gradient is the blackbox step of each row pushed through the cosine.
  const S = cosineSimilarity([1, 0, 1, 1, 0, 1], 3, 2);
  const ry = [[1 / 3, 1, 2 / 3], [1, 1 / 3, 2 / 3], [1, 2 / 3, 1 / 3]];
  const G = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    const row = S.slice(i * 3, i * 3 + 3);
    const rz = rankNormalised(row);
    G.set(blackboxRankGrad(row, rz.map((v, j) => (100 * 2 * (v - ry[i][j])) / 3), 2), i * 3);
  }
  assertAllClose(r.gradZ, cosineSimilarityBackward([1, 0, 1, 1, 0, 1], 3, 2, G), 1e-15);
  assert.ok(r.gradZ.some((v) => v !== 0));
});

Deno.test("cosineSimilarityBackward: matches finite differences of a weighted sum of S", () => {
  const rng = seededRng(3);
  const n = 4, D = 3;
  const x = Float64Array.from({ length: n * D }, () => rng() * 2 - 1);
  const G = Float64Array.from({ length: n * n }, () => rng() * 2 - 1);
  const f = (xx: Float64Array) => cosineSimilarity(xx, n, D).reduce((a, s, k) => a + G[k] * s, 0);
  assertAllClose(cosineSimilarityBackward(x, n, D, G), numericGrad(f, x), 1e-9);
});

Deno.test("ranksimLoss: with an identity ranker the gradient matches finite differences", () => {
  const rng = seededRng(11);
  const b = 6, D = 4;
  const z = Float64Array.from({ length: b * D }, () => rng() * 2 - 1);
  const labels = [3, 7, 3, 1, 9, 7]; // duplicates: rows are deduplicated, the draw fixed by the seed
  const opts = (seed: number) => ({ rng: seededRng(seed), ranker: IDENTITY, gamma: 3, lambda: 2 });
  const r = ranksimLoss(z, labels, opts(5));
  const numeric = numericGrad((zz) => ranksimLoss(zz, labels, opts(5)).loss, z);
  assertAllClose(r.gradZ, numeric, 1e-8);
  // Rows the deduplication dropped get no gradient.
  for (let i = 0; i < b; i++) {
    if (r.selected.includes(i)) continue;
    assertAllClose(r.gradZ.subarray(i * D, (i + 1) * D), new Float64Array(D), 0);
  }
});

Deno.test("dedupRows: one seeded row per unique label, labels ascending; no draw when distinct", () => {
  const labels = [5, 3, 5, 3, 7];
  const rows = dedupRows(labels, seededRng(42));
  assert.deepEqual(rows.map((r) => labels[r]), [3, 5, 7]);
  assert.equal(rows[2], 4);
  assert.deepEqual(dedupRows(labels, seededRng(42)), rows);
  // Expected by hand: the same stream picks among [1, 3], then [0, 2].
  const rng = seededRng(42);
  assert.deepEqual(rows.slice(0, 2), [[1, 3][Math.floor(rng() * 2)], [0, 2][Math.floor(rng() * 2)]]);
  assert.deepEqual(dedupRows([4, 1, 2], seededRng(0)), [0, 1, 2]);
});

Deno.test("ranksimLoss: the deduplicated loss is the loss of the kept rows", () => {
  const rng = seededRng(9);
  const D = 3, labels = [2, 0, 2, 1, 0];
  const z = Float64Array.from({ length: labels.length * D }, () => rng() * 2 - 1);
  const r = ranksimLoss(z, labels, { rng: seededRng(4) });
  const kept = r.selected.flatMap((i) => Array.from(z.subarray(i * D, (i + 1) * D)));
  const sub = ranksimLoss(kept, r.selected.map((i) => labels[i]), { rng: seededRng(0) });
  assertNear(r.loss, sub.loss, 1e-15);
  r.selected.forEach((i, k) =>
    assertAllClose(r.gradZ.subarray(i * D, (i + 1) * D), sub.gradZ.subarray(k * D, (k + 1) * D), 1e-15)
  );
});
