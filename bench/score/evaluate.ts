/**
 * The eval pipeline behind `deno task eval`: read a prepared dataset and a predictions file, score, write
 * a results JSON (and optionally SVG figures beside it). Nothing is written unless every input is valid.
 *
 * @module
 */

import { readPreparedDataset } from "../../datasets/format.ts";
import { assertWritableFile, writeFileAtomic } from "../core/fs.ts";
import { collectProvenance } from "../core/provenance.ts";
import type { BootstrapSettings } from "./bootstrap.ts";
import type { ParsePolicy } from "./parse.ts";
import { binMaeFigure, errorCurveFigure } from "./figures.ts";
import { readPredictions } from "./predictions.ts";
import { buildResults, type Results } from "./results.ts";
import { scoreDataset } from "./score.ts";

/** Inputs of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Prepared dataset directory. */
  data: string;
  /** Predictions JSONL file. */
  predictions: string;
  /** Where to write the results JSON. */
  out: string;
  /** Method name recorded in the results (default: the predictions file's base name). */
  method?: string;
  /** Free-form method configuration to record. */
  config?: Record<string, unknown>;
  /** Parse policy (default strict). */
  parse?: ParsePolicy;
  /** Bootstrap settings. */
  bootstrap?: Partial<BootstrapSettings>;
  /** Also write SVG figures beside the results. */
  plots?: boolean;
}

/** What {@linkcode evaluate} produced. */
export interface EvaluateOutput {
  /** The results written. */
  results: Results;
  /** Paths of the files written, results first. */
  written: string[];
}

/** Paths of the figures that accompany a results file `out` (`x.json` → `x.abs-error.svg`, …). */
export function plotPaths(out: string): { absError: string; binMae: string } {
  const stem = out.replace(/\.json$/i, "");
  return { absError: `${stem}.abs-error.svg`, binMae: `${stem}.bin-mae.svg` };
}

/** Scores a predictions file against a prepared dataset and writes the results (and figures). */
export async function evaluate(options: EvaluateOptions): Promise<EvaluateOutput> {
  const dataset = await readPreparedDataset(options.data);
  const predictions = await readPredictions(options.predictions);
  const scored = scoreDataset(
    dataset,
    predictions,
    { parse: options.parse, bootstrap: options.bootstrap },
    options.predictions,
  );
  const method = options.method ?? defaultMethodName(options.predictions);
  const provenance = await collectProvenance();
  const results = buildResults(dataset, scored, { name: method, config: options.config }, provenance);

  // Render everything before writing anything, so a failure leaves no partial set of files.
  const files: [string, string][] = [[options.out, JSON.stringify(results, null, 2) + "\n"]];
  if (options.plots) {
    const paths = plotPaths(options.out);
    files.push([paths.absError, errorCurveFigure(results)], [paths.binMae, binMaeFigure(results)]);
  }
  for (const [path] of files) await assertWritableFile(path);
  for (const [path, text] of files) await writeFileAtomic(path, text);
  const written = files.map(([path]) => path);
  return { results, written };
}

function defaultMethodName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.jsonl?$/i, "").replace(/^predictions[._-]?/, "") || "unnamed";
}
