/**
 * Submissions: validating a `POST /api/submissions` body and scoring it with the CLI's scorer
 * (`scoreDataset`) against the server's own copy of the test labels. Self-reported metrics are never used;
 * when they disagree with the re-scored ones the result carries a flag.
 *
 * @module
 */

import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import type { Provenance } from "../bench/core/provenance.ts";
import { type LocatedPrediction, validatePredictions } from "../bench/score/predictions.ts";
import { buildResults, type Results } from "../bench/score/results.ts";
import { scoreDataset, type ScoreOptions } from "../bench/score/score.ts";
import type { PreparedDataset } from "../datasets/format.ts";
import { ApiError } from "./errors.ts";
import { type MethodInfo, METRIC_KEYS, type NewResult, REGION_KEYS, regionsOfResults } from "./model.ts";

/** Length limits on submitted fields, in characters. */
export interface FieldLimits {
  /** Method name, backbone and family. */
  name: number;
  /** Method description. */
  description: number;
  /** Paper and code URLs. */
  url: number;
  /** The method config, as JSON text. */
  config: number;
  /** One prediction's id. */
  id: number;
  /** One prediction's model output text. */
  output: number;
}

/** Default field limits. */
export const DEFAULT_FIELD_LIMITS: FieldLimits = {
  name: 100,
  description: 2000,
  url: 500,
  config: 10_000,
  id: 200,
  output: 10_000,
};

/** A validated submission, ready to score. */
export interface Submission {
  /** The dataset scored against. */
  dataset: PreparedDataset;
  /** The method metadata. */
  method: MethodInfo;
  /** The predictions, validated but not yet matched to the test ids. */
  predictions: LocatedPrediction[];
  /** Metrics the submitter reported, compared with the re-scored ones and otherwise ignored. */
  selfReported: unknown;
}

const METHOD_FIELDS = new Set([
  "name",
  "description",
  "paperUrl",
  "codeUrl",
  "backbone",
  "family",
  "extraData",
  "config",
]);
const BODY_FIELDS = new Set(["dataset", "method", "predictions", "metrics"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function bad(message: string): never {
  throw new ApiError(400, message);
}

function text(
  obj: Record<string, unknown>,
  key: string,
  where: string,
  max: number,
  required: boolean,
): string | null {
  const v = obj[key];
  if (v === undefined || v === null || v === "") {
    if (required) bad(`${where}.${key} is required (a non-empty string)`);
    return null;
  }
  if (typeof v !== "string") bad(`${where}.${key} must be a string, got ${typeof v}`);
  if (v.length > max) bad(`${where}.${key} is ${v.length} characters long; the limit is ${max}`);
  if (v.trim() === "") bad(`${where}.${key} must not be blank`);
  return v.trim();
}

function url(obj: Record<string, unknown>, key: string, where: string, max: number): string | null {
  const v = text(obj, key, where, max, false);
  if (v === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    bad(`${where}.${key} must be an absolute http(s) URL, got ${JSON.stringify(v.slice(0, 80))}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    bad(`${where}.${key} must be an http or https URL, got scheme ${JSON.stringify(parsed.protocol)}`);
  }
  return parsed.href;
}

/** Validates method metadata; `where` names the object in error messages. */
export function parseMethod(
  value: unknown,
  limits: FieldLimits = DEFAULT_FIELD_LIMITS,
  where = "method",
): MethodInfo {
  if (!isObject(value)) bad(`${where} must be an object with at least "name"`);
  for (const key of Object.keys(value)) {
    if (!METHOD_FIELDS.has(key)) {
      bad(`${where}.${key} is not a known field (known: ${[...METHOD_FIELDS].join(", ")})`);
    }
  }
  const extra = value.extraData;
  if (extra !== undefined && extra !== null && typeof extra !== "boolean") {
    bad(`${where}.extraData must be true or false, got ${JSON.stringify(extra)}`);
  }
  const config = value.config ?? {};
  if (!isObject(config)) bad(`${where}.config must be a JSON object`);
  const configLength = JSON.stringify(config).length;
  if (configLength > limits.config) {
    bad(`${where}.config is ${configLength} characters as JSON; the limit is ${limits.config}`);
  }
  return {
    name: text(value, "name", where, limits.name, true)!,
    description: text(value, "description", where, limits.description, false) ?? "",
    paperUrl: url(value, "paperUrl", where, limits.url),
    codeUrl: url(value, "codeUrl", where, limits.url),
    backbone: text(value, "backbone", where, limits.name, false) ?? "unspecified",
    family: text(value, "family", where, limits.name, false) ?? "unspecified",
    extraData: typeof extra === "boolean" ? extra : null,
    config,
  };
}

/**
 * Validates a submission body: known fields only, a known dataset, method metadata, and predictions in
 * the predictions format within the limits. Throws an {@linkcode ApiError} naming the field at fault.
 */
export function parseSubmission(
  body: unknown,
  datasets: ReadonlyMap<string, PreparedDataset>,
  limits: FieldLimits = DEFAULT_FIELD_LIMITS,
): Submission {
  if (!isObject(body)) bad(`the body must be a JSON object with "dataset", "method" and "predictions"`);
  for (const key of Object.keys(body)) {
    if (!BODY_FIELDS.has(key)) bad(`${key} is not a known field (known: ${[...BODY_FIELDS].join(", ")})`);
  }
  if (typeof body.dataset !== "string" || body.dataset === "") bad(`dataset must be a dataset id (a string)`);
  const dataset = datasets.get(body.dataset);
  if (!dataset) {
    const known = [...datasets.keys()].sort().join(", ") || "none";
    throw new ApiError(
      404,
      `dataset: unknown dataset ${JSON.stringify(body.dataset.slice(0, 100))} (this server scores: ${known})`,
    );
  }
  const method = parseMethod(body.method, limits);
  const records = body.predictions;
  if (!Array.isArray(records)) bad(`predictions must be an array of {"id", "output"|"value"} objects`);
  const testCount = dataset.test.samples.length;
  if (records.length > testCount) {
    bad(`predictions has ${records.length} entries but ${dataset.manifest.id} has ${testCount} test ids`);
  }
  records.forEach((r, i) => {
    if (!isObject(r)) return; // validatePredictions names it
    if (typeof r.id === "string" && r.id.length > limits.id) {
      bad(`predictions[${i}].id is ${r.id.length} characters long; the limit is ${limits.id}`);
    }
    if (typeof r.output === "string" && r.output.length > limits.output) {
      bad(`predictions[${i}].output is ${r.output.length} characters long; the limit is ${limits.output}`);
    }
    for (const key of Object.keys(r)) {
      if (key !== "id" && key !== "output" && key !== "value") {
        bad(`predictions[${i}].${key} is not a known field (id, output, value)`);
      }
    }
  });
  const predictions = asApiError(() =>
    validatePredictions(records.map((value, i) => ({ line: i, value })), "predictions")
  );
  return { dataset, method, predictions, selfReported: body.metrics };
}

/**
 * Runs `fn`, turning the scorer's {@linkcode InputError}s (which name `predictions:<index>`) into 400
 * {@linkcode ApiError}s that name `predictions[<index>]`.
 */
export function asApiError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const loc = err.location;
    if (loc?.file === "predictions") {
      const prefix = loc.line === undefined ? "predictions: " : `predictions:${loc.line}: `;
      const rest = (err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message)
        .replace(/\(first on line (\d+)\)/, "(first at predictions[$1])");
      throw new ApiError(
        400,
        loc.line === undefined ? `predictions: ${rest}` : `predictions[${loc.line}]: ${rest}`,
      );
    }
    throw new ApiError(400, err.message);
  }
}

/** JSON with object keys sorted at every level, so equal values always give the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => isObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
}

/**
 * A result's stable id: SHA-256 over the test split's hash, the method metadata and the predictions in
 * test order (canonical JSON), shortened to 32 hex digits. Identical submissions get identical ids.
 */
export async function resultId(
  testSha256: string,
  method: MethodInfo,
  aligned: readonly { output?: string | null; value?: number }[],
): Promise<string> {
  const predictions = aligned.map((
    p,
  ) => (typeof p.output === "string" ? { output: p.output } : { value: p.value }));
  const hex = await sha256Hex(`${testSha256}\n${canonicalJson(method)}\n${canonicalJson(predictions)}`);
  return hex.slice(0, 32);
}

/**
 * Compares self-reported metrics (shaped as in results files) with the re-scored ones; returns one flag
 * per number that differs by more than a relative 1e-6. Anything not shaped like metrics is ignored.
 */
export function metricDisagreements(selfReported: unknown, scored: Results["metrics"]): string[] {
  if (!isObject(selfReported)) return [];
  const flags: string[] = [];
  for (const region of REGION_KEYS) {
    const given = selfReported[region];
    if (!isObject(given)) continue;
    for (const metric of METRIC_KEYS) {
      const v = given[metric], truth = scored[region][metric];
      if (typeof v !== "number" || truth === null) continue;
      if (Math.abs(v - truth) > 1e-6 * Math.max(1, Math.abs(truth))) {
        flags.push(
          `self-reported ${region}.${metric} ${formatFlagNumber(v)} disagrees with the re-scored ${
            formatFlagNumber(truth)
          }`,
        );
      }
    }
  }
  return flags;
}

function formatFlagNumber(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v);
}

/**
 * Scores a validated submission with the CLI's scorer and builds the result to store. Throws a 400
 * {@linkcode ApiError} when predictions miss or invent test ids.
 */
export async function scoreSubmission(
  submission: Submission,
  provenance: Provenance,
  options: ScoreOptions = {},
): Promise<NewResult> {
  const { dataset, method } = submission;
  const scored = asApiError(() => scoreDataset(dataset, submission.predictions, options, "predictions"));
  const results = buildResults(dataset, scored, { name: method.name, config: method.config }, provenance);
  const id = await resultId(
    dataset.test.sha256,
    method,
    scored.samples.map((s) => s.output === null ? { value: s.value } : { output: s.output }),
  );
  return {
    row: {
      id,
      datasetId: dataset.manifest.id,
      testSha256: dataset.test.sha256,
      status: "verified",
      source: "submission",
      method,
      regions: regionsOfResults(results),
      flags: metricDisagreements(submission.selfReported, results.metrics),
      origin: null,
    },
    results,
  };
}
