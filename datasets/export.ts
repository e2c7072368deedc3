/**
 * Export of a prepared dataset to the JSONL layouts that external fine-tuning and RL engines read, so
 * real MLLMs can be trained on exactly the same splits:
 *
 * - `hf`: Hugging Face chat messages with typed content parts and an `images` list (TRL's SFTTrainer for
 *   vision-language models, and ms-swift, read this form);
 * - `swift`: ms-swift's string form, the image as an `<image>` tag in the user text;
 * - `grpo`: prompt-only rows for GRPO trainers (TRL GRPOTrainer, VLM-R1): the user turn as `prompt`, the
 *   image, and the label as `solution` (`<answer>{label}</answer>`) plus the raw `label` for rewards.
 *
 * @module
 */

import { isAbsolute, join, relative, resolve } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { writeFileAtomic } from "../bench/core/fs.ts";
import { toJsonl } from "../bench/core/jsonl.ts";
import { type DatasetManifest, readPreparedDataset, type Sample } from "./format.ts";
import { answerText, type Message } from "./prompts.ts";

/** The export formats. */
export const EXPORT_FORMATS = ["hf", "swift", "grpo"] as const;

/** One export format. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** Options of {@linkcode exportDataset}. */
export interface ExportOptions {
  /** The format to write. */
  format: ExportFormat;
  /** Output directory (created); gets `train.jsonl` and `test.jsonl`. */
  out: string;
  /** Write image paths relative to the output directory instead of absolute. */
  relativePaths?: boolean;
}

/** Converts one prepared sample to a row of `format`. `imagePath` is what the row should reference. */
export function exportRow(
  sample: Sample,
  manifest: DatasetManifest,
  format: ExportFormat,
  imagePath: string,
): Record<string, unknown> {
  const user: Message = {
    role: "user",
    content: [{ type: "image" }, { type: "text", text: manifest.prompt }],
  };
  const answer = answerText(sample.label);
  switch (format) {
    case "hf":
      return {
        id: sample.id,
        messages: [user, { role: "assistant", content: [{ type: "text", text: answer }] }],
        images: [imagePath],
        label: sample.label,
      };
    case "swift":
      return {
        id: sample.id,
        messages: [
          { role: "user", content: `<image>${manifest.prompt}` },
          { role: "assistant", content: answer },
        ],
        images: [imagePath],
        label: sample.label,
      };
    case "grpo":
      return { id: sample.id, prompt: [user], images: [imagePath], solution: answer, label: sample.label };
  }
}

/** Exports a prepared dataset directory; returns the files written. */
export async function exportDataset(dir: string, options: ExportOptions): Promise<string[]> {
  const dataset = await readPreparedDataset(dir);
  const out = resolve(options.out);
  const written: string[] = [];
  for (const split of ["train", "test"] as const) {
    const rows = dataset[split].samples.map((s) => {
      if (typeof s.image !== "string") {
        throw new InputError(`sample ${s.id} has no "image"; only datasets with images can be exported`, {
          file: join(dir, dataset.manifest.splits[split].file),
        });
      }
      const abs = isAbsolute(s.image) ? s.image : resolve(dir, s.image);
      return exportRow(s, dataset.manifest, options.format, options.relativePaths ? relative(out, abs) : abs);
    });
    const file = join(out, `${split}.jsonl`);
    await writeFileAtomic(file, toJsonl(rows));
    written.push(file);
  }
  return written;
}
