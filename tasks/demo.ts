/**
 * `deno task demo [--out out/demo] [--train N] [--test N] [--resamples N] [--seed S] [--level L]`
 *
 * The pipeline end to end with no download: prepares synthetic-dir (dot-count images whose training
 * histogram follows AgeDB-DIR's long tail, balanced test set), writes predictions of the label-prior
 * baselines (train mean and median: a model fully collapsed onto the prior), scores them with figures,
 * and compares the two.
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
import { readPreparedDataset } from "../datasets/format.ts";
import { prepareDataset } from "../datasets/prepare.ts";
import { SYNTHETIC_DEFAULTS, syntheticDir } from "../datasets/synthetic.ts";
import { BOOTSTRAP_OPTIONS, BOOTSTRAP_USAGE, bootstrapFromFlags } from "./_bootstrap_flags.ts";
import { intFlag, runTask } from "./_cli.ts";

const USAGE = `usage: deno task demo [--out <dir>] [--resamples <n>]

  --out <dir>           where to write the dataset, predictions, results and figures (default out/demo)
  --train <n>           synthetic training images (default ${SYNTHETIC_DEFAULTS.train})
  --test <n>            synthetic test images (default ${SYNTHETIC_DEFAULTS.test})
  --quiet               no progress bar
${BOOTSTRAP_USAGE}`;

/** Reuses a dataset already prepared with the same sizes, so a second demo run skips the images. */
async function syntheticDataset(dir: string, sizes: { train: number; test: number }, quiet: boolean) {
  try {
    const existing = await readPreparedDataset(dir);
    if (existing.train.samples.length === sizes.train && existing.test.samples.length === sizes.test) {
      console.log(`dataset: ${dir} (reused)`);
      return existing;
    }
  } catch {
    // Missing or different: prepare it afresh below.
  }
  await prepareDataset(syntheticDir, {
    out: dir,
    force: true,
    quiet,
    load: { cache: dir, sizes, log: (m) => console.error(m) },
  });
  console.log(`dataset: ${dir} (prepared)`);
  return await readPreparedDataset(dir);
}

if (import.meta.main) {
  await runTask("demo", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string", default: join("out", "demo") },
        train: { type: "string" },
        test: { type: "string" },
        quiet: { type: "boolean", default: false },
        ...BOOTSTRAP_OPTIONS,
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) return console.log(USAGE);
    const out = values.out;
    const bootstrap = bootstrapFromFlags(values);

    const data = join(out, "synthetic-dir");
    const sizes = {
      train: intFlag(values.train, "train", SYNTHETIC_DEFAULTS.train, 1),
      test: intFlag(values.test, "test", SYNTHETIC_DEFAULTS.test, 1),
    };
    const dataset = await syntheticDataset(data, sizes, values.quiet);
    const { train, test } = { train: dataset.train.samples, test: dataset.test.samples };
    console.log(`${train.length} train, ${test.length} test (training histogram shaped like AgeDB-DIR's)`);

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
    await writeFileAtomic(gainPath, gainFigure(cmp, dataset.manifest.label.unit));
    console.log(`\nA = ${cmp.a.method}, B = ${cmp.b.method}`);
    console.log(comparisonTable(cmp));
    console.log(`wrote ${cmpPath}\nwrote ${gainPath}`);
  });
}
