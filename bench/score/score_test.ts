import assert from "node:assert/strict";
import { scoreAligned } from "./score.ts";

const LABEL = { min: 0, max: 100, unit: "years", binWidth: 1 };
const SHOTS = { manyAbove: 100, fewBelow: 20 };
const close = (actual: number | null, expected: number, tol = 1e-9) => {
  assert.ok(actual !== null, `expected ${expected}, got null`);
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≉ ${expected}`);
};
const repeat = (label: number, n: number) => Array<number>(n).fill(label);

// Training bins: 10 many (150), 20 medium (50), 30 few (5), 40 medium at the boundary (100), 41 many (101),
// 50 medium at the boundary (20), 51 few (19); 60 is absent from train, so few. 445 labels: median 40.
const TRAIN = [
  ...repeat(10, 150),
  ...repeat(20, 50),
  ...repeat(30, 5),
  ...repeat(40, 100),
  ...repeat(41, 101),
  ...repeat(50, 20),
  ...repeat(51, 19),
];
const CASES = [
  { id: "a", label: 10, p: { output: "<answer>12</answer>" } }, // many, e = 2
  { id: "b", label: 10, p: { value: 10 } }, // many, e = 0
  { id: "c", label: 20, p: { value: 17 } }, // medium, e = 3
  { id: "d", label: 30, p: { output: "I cannot tell" } }, // few, invalid → median 40, e = 10
  { id: "e", label: 40, p: { output: "<answer> 40 </answer>" } }, // medium, e = 0
  { id: "f", label: 41, p: { output: "<answer>150</answer>" } }, // many, out of range, e = 109
  { id: "g", label: 50, p: { value: 46 } }, // medium, e = 4
  { id: "h", label: 51, p: { output: "<answer>-1</answer>" } }, // few, out of range, e = 52
  { id: "i", label: 60, p: { output: "<answer>60.5</answer>" } }, // few (absent bin), e = 0.5
];

function score(parse: "strict" | "lenient" = "strict") {
  return scoreAligned(
    TRAIN,
    CASES.map((c) => c.label),
    CASES.map((c) => c.id),
    CASES.map((c) => c.p as { output: string } | { value: number }),
    LABEL,
    SHOTS,
    { parse, bootstrap: { resamples: 200, seed: 7 } },
  );
}

Deno.test("scoreAligned: regions, invalid fallback and out-of-range by hand", () => {
  const { samples, metrics, policy } = score();
  assert.deepEqual(samples.map((s) => s.region), [
    "many",
    "many",
    "medium",
    "few",
    "medium",
    "many",
    "medium",
    "few",
    "few",
  ]);
  assert.deepEqual(policy, {
    parse: "strict",
    invalid: { rule: "train-median", value: 40 },
    outOfRange: "keep",
  });
  assert.deepEqual(samples.map((s) => s.absError), [2, 0, 3, 10, 0, 109, 4, 52, 0.5]);
  assert.deepEqual(samples.map((s) => s.status), [
    "answer",
    "value",
    "value",
    "invalid",
    "answer",
    "answer",
    "value",
    "answer",
    "answer",
  ]);
  assert.equal(samples[3].value, 40);
  assert.equal(samples[3].output, "I cannot tell");
  assert.equal(samples[1].output, null);
  assert.equal(samples[5].value, 150); // kept, not clamped
  assert.equal(metrics.invalid, 1);
  assert.equal(metrics.outOfRange, 2);
  assert.equal(metrics.fallback, 0);
});

Deno.test("scoreAligned: per-region and overall metrics by hand", () => {
  const { metrics } = score();
  assert.equal(metrics.many.n, 3);
  close(metrics.many.mae, 37);
  close(metrics.many.mse, 11885 / 3);
  close(metrics.many.gm, Math.exp((Math.log(2) + Math.log(1e-10) + Math.log(109)) / 3));
  assert.equal(metrics.medium.n, 3);
  close(metrics.medium.mae, 7 / 3);
  close(metrics.medium.mse, 25 / 3);
  assert.equal(metrics.few.n, 3);
  close(metrics.few.mae, 62.5 / 3);
  close(metrics.few.mse, 934.75);
  close(metrics.few.gm, Math.cbrt(260));
  assert.equal(metrics.all.n, 9);
  close(metrics.all.mae, 180.5 / 9);
  close(metrics.all.mse, 14714.25 / 9);
  // Balanced MAE: the mean over the 8 bins with test samples; bin 10 holds two samples (MAE 1).
  close(metrics.balancedMae, (1 + 3 + 10 + 0 + 109 + 4 + 52 + 0.5) / 8);
});

Deno.test("scoreAligned: per-bin records cover the whole label range", () => {
  const { metrics } = score();
  assert.equal(metrics.bins.length, 101);
  assert.deepEqual(metrics.bins[10], {
    bin: 10,
    lo: 10,
    hi: 11,
    trainCount: 150,
    region: "many",
    n: 2,
    mae: 1,
  });
  assert.deepEqual(metrics.bins[60], {
    bin: 60,
    lo: 60,
    hi: 61,
    trainCount: 0,
    region: "few",
    n: 1,
    mae: 0.5,
  });
  assert.deepEqual(metrics.bins[70], {
    bin: 70,
    lo: 70,
    hi: 71,
    trainCount: 0,
    region: "few",
    n: 0,
    mae: null,
  });
  assert.equal(metrics.bins.reduce((s, b) => s + b.n, 0), 9);
});

Deno.test("scoreAligned: lenient parsing changes invalid into fallback and is recorded", () => {
  const cases = [{ output: "<answer>x</answer> about 31" }, { output: "nothing" }];
  const { metrics, policy, samples } = scoreAligned(
    [1, 2, 3, 10],
    [30, 30],
    ["x", "y"],
    cases,
    LABEL,
    SHOTS,
    { parse: "lenient", bootstrap: { resamples: 10 } },
  );
  assert.equal(policy.parse, "lenient");
  assert.equal(policy.invalid.value, 2.5); // even count: mean of the two middle labels
  assert.deepEqual(samples.map((s) => [s.status, s.value]), [["fallback", 31], ["invalid", 2.5]]);
  assert.equal(metrics.fallback, 1);
  assert.equal(metrics.invalid, 1);
});

Deno.test("scoreAligned: empty regions give n = 0 and nulls, never NaN", () => {
  // All training labels in one bin with 5 samples: everything is few; many and medium are empty.
  const { metrics } = scoreAligned(
    [7, 7, 7, 7, 7],
    [7, 8],
    ["a", "b"],
    [{ value: 7 }, { value: 8 }],
    LABEL,
    SHOTS,
    { bootstrap: { resamples: 50 } },
  );
  for (const region of ["many", "medium"] as const) {
    assert.deepEqual(metrics[region], {
      n: 0,
      mae: null,
      mse: null,
      gm: null,
      ci: { mae: null, mse: null, gm: null },
    });
  }
  assert.equal(metrics.few.n, 2);
  assert.ok(!JSON.stringify(metrics).includes("NaN"));
  // Perfect predictions: CCC and Pearson 1.
  close(metrics.ccc, 1);
  close(metrics.pearson, 1);
});

Deno.test("scoreAligned: bootstrap intervals bracket the point estimates and are reproducible", () => {
  const a = score().metrics, b = score().metrics;
  assert.deepEqual(a, b);
  for (const region of ["all", "many", "medium", "few"] as const) {
    for (const key of ["mae", "mse", "gm"] as const) {
      const [lo, hi] = a[region].ci[key]!;
      const point = a[region][key]!;
      assert.ok(lo <= point && point <= hi, `${region}.${key}: ${point} not in [${lo}, ${hi}]`);
      assert.ok(lo < hi, `${region}.${key}: degenerate interval`);
    }
  }
  assert.deepEqual(a.bootstrap, {
    resamples: 200,
    seed: 7,
    level: 0.95,
    method: "percentile",
    unit: "sample",
    strata: "region",
  });
});

Deno.test("scoreAligned rejects mismatched lengths and an empty training split", () => {
  assert.throws(() => scoreAligned([1], [1, 2], ["a", "b"], [{ value: 1 }], LABEL, SHOTS), RangeError);
  assert.throws(() => scoreAligned([], [1], ["a"], [{ value: 1 }], LABEL, SHOTS), /training split is empty/);
});
