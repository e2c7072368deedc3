/**
 * Test fixtures: small in-memory datasets and results, built with the real scorer.
 *
 * @module
 */

import type { PreparedDataset, Sample } from "../../../datasets/format.ts";
import type { Provenance } from "../../core/provenance.ts";
import { seededRng } from "../../core/rng.ts";
import type { PredictedAnswer } from "../predictions.ts";
import { buildResults, type Results } from "../results.ts";
import { scoreAligned } from "../score.ts";

/** A fixed provenance, so fixtures do not depend on the machine or the clock. */
export const FIXED_PROVENANCE: Provenance = {
  dirbench: "0.0.0-test",
  git: { commit: null, dirty: null },
  deno: "2.9.6",
  v8: "0",
  os: "linux-x86_64",
  date: "2026-01-01T00:00:00.000Z",
  seeds: {},
  adapter: null,
};

/**
 * A long-tailed dataset on [0, 100]: training labels drawn around 30 with a heavy right tail (all three
 * regions occur), a balanced test set of `testCount` samples.
 */
export function longTailDataset(testCount = 400, seed = 1, testSha = "a".repeat(64)): PreparedDataset {
  const rng = seededRng(seed);
  const train: Sample[] = [];
  for (let i = 0; i < 6000; i++) {
    const y = Math.min(100, Math.round(20 + 12 * -Math.log(1 - rng()) + 6 * (rng() - 0.5)));
    train.push({ id: `tr${i}`, label: y });
  }
  const test: Sample[] = Array.from({ length: testCount }, (_, i) => ({
    id: `te${i}`,
    label: Math.round((i * 100) / Math.max(1, testCount - 1)),
  }));
  return {
    dir: "<memory>",
    manifest: {
      format: "dirbench.dataset/1",
      id: "long-tail-fixture",
      label: { min: 0, max: 100, unit: "years", binWidth: 1 },
      shots: { manyAbove: 100, fewBelow: 20 },
      prompt: "How old?",
      splits: {
        train: { file: "train.jsonl", count: train.length, sha256: "b".repeat(64) },
        test: { file: "test.jsonl", count: test.length, sha256: testSha },
      },
    },
    train: { samples: train, sha256: "b".repeat(64) },
    test: { samples: test, sha256: testSha },
  };
}

/** Scores `predict(label, index)` on a dataset and wraps it as a results object. */
export function resultsFor(
  dataset: PreparedDataset,
  name: string,
  predict: (label: number, index: number) => PredictedAnswer,
  resamples = 200,
): Results {
  const test = dataset.test.samples;
  const scored = scoreAligned(
    dataset.train.samples.map((s) => s.label),
    test.map((s) => s.label),
    test.map((s) => s.id),
    test.map((s, i) => predict(s.label, i)),
    dataset.manifest.label,
    dataset.manifest.shots,
    { bootstrap: { resamples, seed: 3 } },
  );
  return buildResults(dataset, scored, { name }, FIXED_PROVENANCE);
}
