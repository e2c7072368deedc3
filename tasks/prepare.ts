/**
 * `deno task prepare <dataset> [--from <raw>] [--split <csv>] --out <dir> [--train N] [--test N]
 * [--seed S] [--max-side 448] [--force]`
 *
 * Writes a prepared dataset (format dirbench.dataset/1): re-encoded images, dialogue JSONL, manifest,
 * card.md and label histograms.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { prepareDataset } from "../datasets/prepare.ts";
import { datasetAdapter, DATASETS } from "../datasets/registry.ts";
import { defaultCacheDir } from "../datasets/cache.ts";
import { intFlag, runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task prepare <dataset> --out <dir> [options]

datasets: ${[...DATASETS.keys()].join(", ")}

  --out <dir>         directory to create (must not exist, unless --force)
  --from <path>       raw archive or directory to read instead of the fetch cache
  --split <csv>       local copy of the split file (its hash is still checked)
  --cache <dir>       fetch cache (default ${join("<user cache>", "dirbench")})
  --train <n>         training samples, where the dataset lets you choose (synthetic-dir: 12000)
  --test <n>          test samples, where the dataset lets you choose (synthetic-dir: 2000)
  --seed <n>          seed of the dataset's random draws (default: the dataset's)
  --max-side <px>     longest image side after resizing (default 448)
  --concurrency <n>   images encoded at once (default 4)
  --force             replace an existing --out directory
  --quiet             no progress bar`;

if (import.meta.main) {
  await runTask("prepare", USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string" },
        from: { type: "string" },
        split: { type: "string" },
        cache: { type: "string" },
        train: { type: "string" },
        test: { type: "string" },
        seed: { type: "string" },
        "max-side": { type: "string" },
        concurrency: { type: "string" },
        force: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) return console.log(USAGE);
    if (positionals.length !== 1) throw new UsageError(`expected one dataset id, got ${positionals.length}`);
    if (!values.out) throw new UsageError("--out is required");
    let adapter;
    try {
      adapter = datasetAdapter(positionals[0]);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const started = performance.now();
    const result = await prepareDataset(adapter, {
      out: values.out,
      force: values.force,
      quiet: values.quiet,
      concurrency: intFlag(values.concurrency, "concurrency", 4, 1),
      images: { maxSide: intFlag(values["max-side"], "max-side", 448, 16) },
      load: {
        cache: values.cache ?? defaultCacheDir(),
        from: values.from,
        split: values.split,
        seed: values.seed === undefined ? undefined : intFlag(values.seed, "seed", 0),
        sizes: {
          train: values.train === undefined ? undefined : intFlag(values.train, "train", 0, 1),
          test: values.test === undefined ? undefined : intFlag(values.test, "test", 0, 1),
        },
      },
    });
    const m = result.manifest;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${m.id}: ${m.splits.train.count} train, ${m.splits.test.count} test, ${result.dropped.length} dropped ` +
        `(${result.imagesPerSecond.toFixed(1)} images/s, ${seconds.toFixed(1)} s)`,
    );
    console.log(`wrote ${result.dir} (card: ${join(result.dir, "card.md")})`);
  });
}
