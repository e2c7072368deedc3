/**
 * `deno task compare A.json B.json [--out compare.json] [--plots] [--resamples N] [--seed S] [--level L]`
 *
 * Paired bootstrap comparison of two results on the same test set.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { assertWritableFile, writeFileAtomic } from "../bench/core/fs.ts";
import { compareResults } from "../bench/score/compare.ts";
import { gainFigure } from "../bench/score/figures.ts";
import { comparisonTable } from "../bench/score/report.ts";
import { readResults } from "../bench/score/results.ts";
import { BOOTSTRAP_OPTIONS, BOOTSTRAP_USAGE, bootstrapFromFlags } from "./_bootstrap_flags.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task compare <A.json> <B.json> [options]

  --out <file>       also write the comparison as JSON (format dirbench.compare/1)
  --plots            write the per-bin MAE gain of B over A as SVG beside --out
${BOOTSTRAP_USAGE}`;

if (import.meta.main) {
  await runTask("compare", USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string" },
        plots: { type: "boolean", default: false },
        ...BOOTSTRAP_OPTIONS,
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    if (positionals.length !== 2) {
      throw new UsageError(`expected two results files, got ${positionals.length}`);
    }
    if (values.plots && !values.out) throw new UsageError("--plots writes beside --out; give --out too");
    const [fileA, fileB] = positionals;
    const [a, b] = await Promise.all([readResults(fileA), readResults(fileB)]);
    const cmp = compareResults(a, b, bootstrapFromFlags(values), { a: fileA, b: fileB });
    console.log(
      `A = ${a.method.name} (${fileA})\nB = ${b.method.name} (${fileB})\non ${a.dataset.id}, ${cmp.shared} shared test ids`,
    );
    console.log(comparisonTable(cmp));
    if (values.out) {
      const files: [string, string][] = [[values.out, JSON.stringify(cmp, null, 2) + "\n"]];
      if (values.plots) {
        files.push([values.out.replace(/\.json$/i, "") + ".gain.svg", gainFigure(cmp, a.dataset.label.unit)]);
      }
      for (const [path] of files) await assertWritableFile(path);
      for (const [path, text] of files) {
        await writeFileAtomic(path, text);
        console.log(`wrote ${path}`);
      }
    }
  });
}
