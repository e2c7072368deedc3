/**
 * `deno task demo [--out out/demo] [--resamples N]`
 *
 * The whole scoring pipeline on a labels-only dataset with AgeDB-DIR's training histogram and a balanced
 * test set: writes the prepared dataset, predictions of the label-prior baselines (train mean and
 * median), their results with figures, and a paired comparison of the two. Needs no download.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../bench/core/fs.ts";
import { toJsonl } from "../bench/core/jsonl.ts";
import { priorBaselines } from "../bench/score/baselines.ts";
import { compareResults } from "../bench/score/compare.ts";
import { evaluate } from "../bench/score/evaluate.ts";
import { gainFigure } from "../bench/score/figures.ts";
import { comparisonTable, metricsTable } from "../bench/score/report.ts";
import { AGEDB_DIR_TRAIN_COUNTS } from "../datasets/agedb_histogram.ts";
import { type Sample, writePreparedDataset } from "../datasets/format.ts";
import { BOOTSTRAP_OPTIONS, BOOTSTRAP_USAGE, bootstrapFromFlags, runTask } from "./_cli.ts";

const USAGE = `usage: deno task demo [--out <dir>] [--resamples <n>]

  --out <dir>        where to write the dataset, predictions, results and figures (default out/demo)
${BOOTSTRAP_USAGE}`;

/** Test samples per age: AgeDB-DIR's balanced test split caps each age at 30; 20 keeps every age equal. */
const TEST_PER_AGE = 20;

function agedbShapedSplits(): { train: Sample[]; test: Sample[] } {
  const train: Sample[] = [], test: Sample[] = [];
  AGEDB_DIR_TRAIN_COUNTS.forEach((count, age) => {
    for (let k = 0; k < count; k++) train.push({ id: `train-${age}-${k}`, label: age });
    if (age >= 1) {
      for (let k = 0; k < TEST_PER_AGE; k++) test.push({ id: `test-${age}-${k}`, label: age });
    }
  });
  return { train, test };
}

if (import.meta.main) {
  await runTask("demo", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string", default: join("out", "demo") },
        ...BOOTSTRAP_OPTIONS,
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) return console.log(USAGE);
    const out = values.out;
    const bootstrap = bootstrapFromFlags(values);

    const data = join(out, "dataset");
    const { train, test } = agedbShapedSplits();
    await writePreparedDataset(
      data,
      {
        id: "agedb-shape-labels",
        prompt: "How old is the person in this image? (labels-only stand-in: there are no images)",
        label: { min: 0, max: 101, unit: "years" },
        description:
          "AgeDB-DIR's training label histogram with a balanced test set (20 per age), labels only",
      },
      train,
      test,
    );
    console.log(`dataset: ${data} (${train.length} train, ${test.length} test; AgeDB-DIR label shape)`);

    const results = [];
    for (const baseline of priorBaselines(train.map((s) => s.label))) {
      const predictions = join(out, "predictions", `${baseline.name}.jsonl`);
      await writeFileAtomic(predictions, toJsonl(test.map((s) => ({ id: s.id, value: baseline.value }))));
      const { results: r, written } = await evaluate({
        data,
        predictions,
        out: join(out, "results", `${baseline.name}.json`),
        method: baseline.name,
        config: { description: baseline.description, value: baseline.value },
        bootstrap,
        plots: true,
      });
      console.log(`\n${baseline.name} (predicts ${baseline.value.toFixed(2)} for every input)`);
      console.log(metricsTable(r.metrics));
      console.log(written.map((p) => `wrote ${p}`).join("\n"));
      results.push(r);
    }

    const cmp = compareResults(results[0], results[1], bootstrap);
    const cmpPath = join(out, "compare.json");
    await writeFileAtomic(cmpPath, JSON.stringify(cmp, null, 2) + "\n");
    const gainPath = join(out, "compare.gain.svg");
    await writeFileAtomic(gainPath, gainFigure(cmp, "years"));
    console.log(`\nA = ${cmp.a.method}, B = ${cmp.b.method}`);
    console.log(comparisonTable(cmp));
    console.log(`wrote ${cmpPath}\nwrote ${gainPath}`);
  });
}
