/**
 * `deno task eval --data <dir> --predictions <file> --out <results.json> [--method NAME] [--parse lenient]
 * [--plots] [--resamples N] [--seed S] [--level L]`
 *
 * Scores a predictions file against a prepared dataset and writes a results JSON.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { evaluate } from "../bench/score/evaluate.ts";
import { PARSE_POLICIES, type ParsePolicy } from "../bench/score/parse.ts";
import { metricsTable } from "../bench/score/report.ts";
import { BOOTSTRAP_OPTIONS, BOOTSTRAP_USAGE, bootstrapFromFlags } from "./_bootstrap_flags.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task eval --data <dir> --predictions <file.jsonl> --out <results.json> [options]

  --data <dir>          prepared dataset directory (manifest.json, train.jsonl, test.jsonl)
  --predictions <file>  JSONL, one {"id", "output"} or {"id", "value"} per test id
  --out <file>          results JSON to write (format dirbench.results/1)
  --method <name>       method name to record (default: from the predictions file name)
  --config <json>       free-form method configuration to record, as a JSON object
  --parse <policy>      strict (default: first <answer> block only) or lenient (fall back to any number)
  --plots               also write SVG figures beside the results
${BOOTSTRAP_USAGE}`;

if (import.meta.main) {
  await runTask("eval", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        data: { type: "string" },
        predictions: { type: "string" },
        out: { type: "string" },
        method: { type: "string" },
        config: { type: "string" },
        parse: { type: "string", default: "strict" },
        plots: { type: "boolean", default: false },
        ...BOOTSTRAP_OPTIONS,
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    for (const flag of ["data", "predictions", "out"] as const) {
      if (!values[flag]) throw new UsageError(`--${flag} is required`);
    }
    if (!PARSE_POLICIES.includes(values.parse as ParsePolicy)) {
      throw new UsageError(`--parse must be one of ${PARSE_POLICIES.join(", ")}, got "${values.parse}"`);
    }
    let config: Record<string, unknown> | undefined;
    if (values.config !== undefined) {
      try {
        config = JSON.parse(values.config);
      } catch {
        throw new UsageError(`--config must be a JSON object, got ${values.config}`);
      }
      if (config === null || typeof config !== "object" || Array.isArray(config)) {
        throw new UsageError(`--config must be a JSON object, got ${values.config}`);
      }
    }
    const { results, written } = await evaluate({
      data: values.data!,
      predictions: values.predictions!,
      out: values.out!,
      method: values.method,
      config,
      parse: values.parse as ParsePolicy,
      plots: values.plots,
      bootstrap: bootstrapFromFlags(values),
    });
    console.log(
      `${results.method.name} on ${results.dataset.id} (${results.dataset.testCount} test samples)`,
    );
    console.log(metricsTable(results.metrics));
    for (const path of written) console.log(`wrote ${path}`);
  });
}
