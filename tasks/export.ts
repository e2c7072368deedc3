/**
 * `deno task export <prepared dir> --format <hf|swift|grpo> --out <dir> [--relative]`
 *
 * Writes a prepared dataset's splits in the JSONL layouts of external training engines (TRL, ms-swift,
 * GRPO trainers), so real MLLMs can be trained on the same splits.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EXPORT_FORMATS, exportDataset, type ExportFormat } from "../datasets/export.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task export <prepared dir> --format <${
  EXPORT_FORMATS.join("|")
}> --out <dir> [--relative]

  --format hf      Hugging Face chat messages + images (TRL SFTTrainer for VLMs, ms-swift)
  --format swift   ms-swift string messages with an <image> tag + images
  --format grpo    prompt-only rows with solution and label, for GRPO trainers (TRL, VLM-R1)
  --out <dir>      where to write train.jsonl and test.jsonl
  --relative       image paths relative to --out (default: absolute)`;

if (import.meta.main) {
  await runTask("export", USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        format: { type: "string" },
        out: { type: "string" },
        relative: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) return console.log(USAGE);
    if (positionals.length !== 1) {
      throw new UsageError(`expected one prepared dataset directory, got ${positionals.length}`);
    }
    if (!values.format || !EXPORT_FORMATS.includes(values.format as ExportFormat)) {
      throw new UsageError(
        `--format must be one of ${EXPORT_FORMATS.join(", ")}, got ${values.format ?? "nothing"}`,
      );
    }
    if (!values.out) throw new UsageError("--out is required");
    const written = await exportDataset(positionals[0], {
      format: values.format as ExportFormat,
      out: values.out,
      relativePaths: values.relative,
    });
    for (const file of written) console.log(`wrote ${file}`);
  });
}
