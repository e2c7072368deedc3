/**
 * The results format, version 1 (`dirbench.results/1`): one method's scored predictions on one prepared
 * dataset. Its JSON Schema is `results.schema.json` beside this file; {@linkcode readResults} validates
 * against it, so the schema is the contract and not only documentation.
 *
 * @module
 */

import { Ajv } from "ajv";
import type { LabelSpec, PreparedDataset, ShotThresholds } from "../../datasets/format.ts";
import { InputError } from "../core/errors.ts";
import { readJsonFile } from "../core/fs.ts";
import type { Provenance } from "../core/provenance.ts";
import schema from "./results.schema.json" with { type: "json" };
import type { Metrics, SampleRecord, ScoreOutput, ScoringPolicy } from "./score.ts";

/** The format tag of every version-1 results file. */
export const RESULTS_FORMAT = "dirbench.results/1";

/** The JSON Schema of the results format. */
export const RESULTS_SCHEMA: Record<string, unknown> = schema;

/** A results file. Unknown extra fields are allowed, so later versions can extend it. */
export interface Results {
  /** Always {@linkcode RESULTS_FORMAT}. */
  format: typeof RESULTS_FORMAT;
  /** Which dataset, pinned by the SHA-256 of its splits. */
  dataset: {
    id: string;
    testSha256: string;
    trainSha256: string;
    testCount: number;
    trainCount: number;
    label: LabelSpec;
    shots: ShotThresholds;
  };
  /** The method's name and free-form configuration. */
  method: { name: string; config: Record<string, unknown> };
  /** What produced the result. */
  provenance: Provenance;
  /** The parse and fallback policy in force. */
  policy: ScoringPolicy;
  /** Shot-aware metrics. */
  metrics: Metrics;
  /** Per-sample records, in test-file order. */
  samples: SampleRecord[];
}

/** Assembles a results object from a scorer output. */
export function buildResults(
  dataset: PreparedDataset,
  scored: ScoreOutput,
  method: { name: string; config?: Record<string, unknown> },
  provenance: Provenance,
): Results {
  const m = dataset.manifest;
  return {
    format: RESULTS_FORMAT,
    dataset: {
      id: m.id,
      testSha256: dataset.test.sha256,
      trainSha256: dataset.train.sha256,
      testCount: dataset.test.samples.length,
      trainCount: dataset.train.samples.length,
      label: { min: m.label.min, max: m.label.max, unit: m.label.unit, binWidth: m.label.binWidth },
      shots: { manyAbove: m.shots.manyAbove, fewBelow: m.shots.fewBelow },
    },
    method: { name: method.name, config: method.config ?? {} },
    provenance: { ...provenance, seeds: { ...provenance.seeds, bootstrap: scored.metrics.bootstrap.seed } },
    policy: scored.policy,
    metrics: scored.metrics,
    samples: scored.samples,
  };
}

let validator: ReturnType<Ajv["compile"]> | undefined;

/** Validates a parsed results object against the schema; returns the problems found (empty when valid). */
export function resultsProblems(value: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(RESULTS_SCHEMA);
  if (validator(value)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}

/** Reads a results file, checking its format version and schema. */
export async function readResults(file: string): Promise<Results> {
  const json = await readJsonFile(file, "results file");
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== RESULTS_FORMAT) {
    throw new InputError(
      `unsupported results format ${JSON.stringify(format)}; this dirbench reads "${RESULTS_FORMAT}"`,
      { file },
    );
  }
  const problems = resultsProblems(json);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join("; ");
    throw new InputError(`not a valid results file: ${shown}${problems.length > 5 ? "; …" : ""}`, { file });
  }
  return json as Results;
}
