/**
 * `deno task fetch <dataset> [--cache <dir>] [--from <zip|tar|dir>] [--quiet]`
 *
 * Downloads (or, with `--from`, imports) a dataset's raw data into `<cache>/<dataset id>/`, verified
 * against pinned hashes, for `deno task prepare` to read.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultCacheDir } from "../datasets/cache.ts";
import { datasetAdapter, DATASETS } from "../datasets/registry.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task fetch <dataset> [options]

datasets: ${[...DATASETS.keys()].join(", ")}

  --cache <dir>   where raw data is kept (default ${join("<user cache>", "dirbench")}); each dataset gets
                  <cache>/<dataset id>/
  --from <path>   import a local archive (zip, tar, tar.gz) or directory instead of downloading it
                  (agedb-dir: the AgeDB zip or its extracted folder, which must be requested by hand)
  --quiet         no progress bars`;

if (import.meta.main) {
  await runTask("fetch", USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        cache: { type: "string" },
        from: { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) return console.log(USAGE);
    if (positionals.length !== 1) throw new UsageError(`expected one dataset id, got ${positionals.length}`);
    let adapter;
    try {
      adapter = datasetAdapter(positionals[0]);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!adapter.fetch) {
      console.log(
        `${adapter.id} needs no fetch: it is generated offline by \`deno task prepare ${adapter.id}\``,
      );
      return;
    }
    const cache = values.cache ?? defaultCacheDir();
    const started = performance.now();
    const ctx = { cache, from: values.from, quiet: values.quiet, log: (m: string) => console.error(m) };
    await adapter.fetch(ctx);
    const seconds = (performance.now() - started) / 1000;
    console.log(`${adapter.id}: raw data ready in ${join(cache, adapter.id)} (${seconds.toFixed(1)} s)`);
  });
}
