import assert from "node:assert/strict";
import { InputError } from "../core/errors.ts";
import { seededRng } from "../core/rng.ts";
import { percentileInterval, resampleCounts } from "./bootstrap.ts";
import { compareResults } from "./compare.ts";
import { longTailDataset, resultsFor } from "./testing/fixtures.ts";

const dataset = longTailDataset();

Deno.test("compareResults: a uniform 1-unit improvement is exact in every region", () => {
  const a = resultsFor(dataset, "a", (y) => ({ value: y + 3 }));
  const b = resultsFor(dataset, "b", (y) => ({ value: y - 2 }));
  const cmp = compareResults(a, b, { resamples: 300 });
  assert.equal(cmp.shared, 400);
  for (const region of ["all", "many", "medium", "few"] as const) {
    const r = cmp.regions[region];
    assert.ok(r.n > 0, `${region} should not be empty in this fixture`);
    assert.equal(r.maeA, 3);
    assert.equal(r.maeB, 2);
    assert.equal(r.diff, -1);
    assert.deepEqual(r.ci, [-1, -1]);
    // Every resample sits at -1, none as far from it as 0: the smallest p the resampling can give.
    assert.equal(r.p, 1 / 301);
  }
  assert.ok(cmp.bins.filter((b) => b.n > 0).every((b) => b.gain === 1));
});

Deno.test("compareResults: identical results have zero difference and p = 1", () => {
  const rng = seededRng(5);
  const noise = Array.from({ length: 400 }, () => (rng() - 0.5) * 20);
  const a = resultsFor(dataset, "a", (y, i) => ({ value: y + noise[i] }));
  const cmp = compareResults(a, a, { resamples: 100 });
  assert.equal(cmp.regions.all.diff, 0);
  assert.equal(cmp.regions.all.p, 1);
});

Deno.test("compareResults: the interval brackets the difference, and noise alone is not significant", () => {
  const rng = seededRng(9);
  const noiseA = Array.from({ length: 400 }, () => (rng() - 0.5) * 20);
  const noiseB = Array.from({ length: 400 }, () => (rng() - 0.5) * 20);
  const a = resultsFor(dataset, "a", (y, i) => ({ value: y + noiseA[i] }));
  const b = resultsFor(dataset, "b", (y, i) => ({ value: y + noiseB[i] }));
  const cmp = compareResults(a, b, { resamples: 500, seed: 1 });
  const all = cmp.regions.all;
  assert.ok(all.ci![0] <= all.diff! && all.diff! <= all.ci![1]);
  assert.ok(all.p! > 0.05, `same-distribution noise should not be significant, p = ${all.p}`);
  // Same seed, same answer.
  assert.deepEqual(compareResults(a, b, { resamples: 500, seed: 1 }), cmp);
});

Deno.test("compareResults refuses results from different test sets", () => {
  const a = resultsFor(dataset, "a", (y) => ({ value: y }));
  const other = longTailDataset(400, 1, "c".repeat(64));
  const b = resultsFor(other, "b", (y) => ({ value: y }));
  assert.throws(
    () => compareResults(a, b),
    (err) => err instanceof InputError && /different test sets/.test(err.message),
  );
});

Deno.test("compareResults uses only the shared test ids", () => {
  const a = resultsFor(dataset, "a", (y) => ({ value: y + 1 }));
  const b = resultsFor(dataset, "b", (y) => ({ value: y }));
  const bSubset = { ...b, samples: b.samples.slice(0, 100) };
  const cmp = compareResults(a, bSubset, { resamples: 50 });
  assert.equal(cmp.shared, 100);
  assert.equal(cmp.regions.all.n, 100);
});

Deno.test("compareResults: kept resample draws give exactly the numbers of drawing anew", () => {
  const rng = seededRng(11);
  const a = resultsFor(dataset, "a", (y) => ({ value: y + (rng() - 0.5) * 20 }));
  const b = resultsFor(dataset, "b", (y) => ({ value: y + (rng() - 0.5) * 18 }));
  const settings = { resamples: 400, seed: 3, level: 0.95 };
  // The reference: the paired, region-stratified bootstrap drawn afresh, as the code did before keeping
  // the draws (one stream per region, seeded seed × 4 + k + 1).
  const errB = new Map(b.samples.map((s) => [s.id, s.absError]));
  const sums = new Float64Array(settings.resamples);
  ["many", "medium", "few"].forEach((region, k) => {
    const rows = a.samples.filter((s) => s.region === region);
    const d = rows.map((s) => errB.get(s.id)! - s.absError);
    const counts = new Int32Array(d.length);
    const stream = seededRng(settings.seed * 4 + k + 1);
    for (let r = 0; d.length > 0 && r < settings.resamples; r++) {
      resampleCounts(counts, stream);
      let s = 0;
      for (let i = 0; i < d.length; i++) s += counts[i] * d[i];
      sums[r] += s;
    }
  });
  const stats = sums.map((s) => s / a.samples.length).sort();
  const expected = percentileInterval(stats, settings.level);
  for (let round = 0; round < 2; round++) {
    assert.deepEqual(compareResults(a, b, settings).regions.all.ci, expected, `round ${round}`);
  }
});
