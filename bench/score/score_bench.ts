/**
 * Scoring throughput: `deno bench bench/score/score_bench.ts`.
 *
 * Scores 50k, 100k and 200k text predictions on a long-tailed dataset, with and without the bootstrap,
 * so the per-sample cost at each size shows whether scoring stays linear.
 */

import { seededRng } from "../core/rng.ts";
import type { PredictedAnswer } from "./predictions.ts";
import { scoreAligned } from "./score.ts";

const LABEL = { min: 0, max: 100, unit: "years", binWidth: 1 };
const SHOTS = { manyAbove: 100, fewBelow: 20 };

function workload(n: number) {
  const rng = seededRng(n);
  const train = Array.from({ length: n }, () => Math.min(100, Math.round(20 + 12 * -Math.log(1 - rng()))));
  const test = Array.from({ length: n }, () => Math.round(rng() * 100));
  const ids = test.map((_, i) => `t${i}`);
  const preds: PredictedAnswer[] = test.map((y) => ({
    output: `The person looks about <answer>${Math.round(y + (rng() - 0.5) * 20)}</answer> years old.`,
  }));
  return { train, test, ids, preds };
}

for (const n of [50_000, 100_000, 200_000]) {
  const w = workload(n);
  Deno.bench({
    name: `score ${n / 1000}k, 1000 bootstrap resamples`,
    group: "with bootstrap",
    baseline: n === 50_000,
    n: 3,
    warmup: 1,
    fn: () => {
      scoreAligned(w.train, w.test, w.ids, w.preds, LABEL, SHOTS, { bootstrap: { resamples: 1000 } });
    },
  });
  Deno.bench({
    name: `score ${n / 1000}k, parse + metrics only`,
    group: "without bootstrap",
    baseline: n === 50_000,
    n: 5,
    warmup: 1,
    fn: () => {
      scoreAligned(w.train, w.test, w.ids, w.preds, LABEL, SHOTS, { bootstrap: { resamples: 1 } });
    },
  });
}
