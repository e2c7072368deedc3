/**
 * Loading results into the store: results files (`dirbench.results/1`, re-scored when the server holds the
 * test labels) and numbers quoted from papers (`dirbench.reported/1`), from a directory walked at start.
 *
 * @module
 */

import { join, relative } from "node:path";
import { sha256Hex } from "../bench/core/hash.ts";
import { validatePredictions } from "../bench/score/predictions.ts";
import { buildResults, type Results, RESULTS_FORMAT, resultsProblems } from "../bench/score/results.ts";
import { scoreDataset } from "../bench/score/score.ts";
import type { PreparedDataset } from "../datasets/format.ts";
import { ApiError } from "./errors.ts";
import {
  METRIC_KEYS,
  type NewResult,
  REGION_KEYS,
  type RegionKey,
  type RegionNumbers,
  regionsOfResults,
  SAFE_ID,
} from "./model.ts";
import type { Store } from "./store.ts";
import { asApiError, canonicalJson, metricDisagreements, parseMethod, resultId } from "./submit.ts";

/** The format tag of a file of numbers quoted from a paper. */
export const REPORTED_FORMAT = "dirbench.reported/1";

/**
 * The method metadata of a results file: its name and config, with `backbone`, `family`, `description`,
 * `paperUrl`, `codeUrl` and `extraData` taken from the config when present there.
 */
function methodOfResults(results: Results) {
  const c = results.method.config ?? {};
  const pick = (k: string) => (c[k] === undefined ? {} : { [k]: c[k] });
  return parseMethod(
    {
      name: results.method.name,
      ...pick("backbone"),
      ...pick("family"),
      ...pick("description"),
      ...pick("paperUrl"),
      ...pick("codeUrl"),
      ...pick("extraData"),
      config: c,
    },
    undefined,
    "method",
  );
}

/**
 * Turns a validated results object into a result to store. When `datasets` holds the same test split
 * (same SHA-256), the per-sample predictions are re-scored with the same scorer and policy and the result
 * is `verified` (disagreeing numbers are flagged); otherwise it is stored as given, `unverified`.
 */
export async function resultFromResultsFile(
  results: Results,
  datasets: ReadonlyMap<string, PreparedDataset>,
  origin: string,
): Promise<NewResult> {
  if (!SAFE_ID.test(results.dataset.id)) {
    throw new ApiError(400, `dataset.id ${JSON.stringify(results.dataset.id)} is not a usable id`);
  }
  const method = methodOfResults(results);
  const dataset = datasets.get(results.dataset.id);
  const predictions = results.samples.map((
    s,
  ) => (s.output === null ? { value: s.value } : { output: s.output }));
  const id = await resultId(results.dataset.testSha256, method, predictions);
  const base = { id, datasetId: results.dataset.id, source: "file" as const, method, origin };
  if (!dataset || dataset.test.sha256 !== results.dataset.testSha256) {
    return {
      row: {
        ...base,
        testSha256: results.dataset.testSha256,
        status: "unverified",
        regions: regionsOfResults(results),
        flags: dataset ? ["scored on a different test split than this server holds; not re-scored"] : [],
      },
      results,
    };
  }
  const located = asApiError(() =>
    validatePredictions(
      results.samples.map((s, i) => ({ line: i, value: { id: s.id, ...predictions[i] } })),
      "predictions",
    )
  );
  const { resamples, seed, level } = results.metrics.bootstrap;
  const scored = asApiError(() =>
    scoreDataset(
      dataset,
      located,
      { parse: results.policy.parse, bootstrap: { resamples, seed, level } },
      "predictions",
    )
  );
  const rescored = buildResults(dataset, scored, results.method, results.provenance);
  return {
    row: {
      ...base,
      testSha256: dataset.test.sha256,
      status: "verified",
      regions: regionsOfResults(rescored),
      flags: metricDisagreements(results.metrics, rescored.metrics).map((f) =>
        f.replace("self-reported", "file's")
      ),
    },
    results: rescored,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function reportedNumber(v: unknown, where: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new ApiError(400, `${where} must be a non-negative finite number or null`);
  }
  return v;
}

/**
 * Reads a `dirbench.reported/1` object: `{"format", "dataset": "<id>", "source": "<citation>", "entries":
 * [{"method": {...}, "metrics": {"all": {"mae", "gm", "mse"}, "many": ..., ...}}]}`. Every entry becomes a
 * `reported` result.
 */
export async function reportedResults(json: unknown): Promise<NewResult[]> {
  if (!isObject(json)) throw new ApiError(400, "a reported-numbers file must be a JSON object");
  const { dataset, source, entries } = json;
  if (typeof dataset !== "string" || !SAFE_ID.test(dataset)) {
    throw new ApiError(400, `dataset must be a dataset id, got ${JSON.stringify(dataset)}`);
  }
  if (typeof source !== "string" || source.trim() === "" || source.length > 500) {
    throw new ApiError(400, "source must name where the numbers are quoted from (1–500 characters)");
  }
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ApiError(400, "entries must be a non-empty array");
  }
  const out: NewResult[] = [];
  for (const [i, entry] of entries.entries()) {
    if (!isObject(entry)) throw new ApiError(400, `entries[${i}] must be an object`);
    const method = parseMethod(entry.method, undefined, `entries[${i}].method`);
    if (!isObject(entry.metrics)) throw new ApiError(400, `entries[${i}].metrics must be an object`);
    const regions = {} as Record<RegionKey, RegionNumbers>;
    for (const r of REGION_KEYS) {
      const m = entry.metrics[r];
      if (m !== undefined && !isObject(m)) {
        throw new ApiError(400, `entries[${i}].metrics.${r} must be an object`);
      }
      const nums = Object.fromEntries(
        METRIC_KEYS.map((k) => [k, reportedNumber(m?.[k], `entries[${i}].metrics.${r}.${k}`)]),
      ) as Record<"mae" | "gm" | "mse", number | null>;
      regions[r] = { n: null, ...nums, ci: null };
    }
    const hash = await sha256Hex(
      `reported\n${dataset}\n${source}\n${canonicalJson(method)}\n${canonicalJson(regions)}`,
    );
    out.push({
      row: {
        id: hash.slice(0, 32),
        datasetId: dataset,
        testSha256: null,
        status: "reported",
        source: "paper",
        method,
        regions,
        flags: [],
        origin: source.trim(),
      },
      results: null,
    });
  }
  return out;
}

/** What {@linkcode loadResultsDir} did with each file. */
export interface LoadReport {
  /** Files stored (ids of their results; `created` counts the new ones). */
  loaded: { file: string; ids: string[]; created: number }[];
  /** Files not stored, and why. */
  skipped: { file: string; reason: string }[];
}

async function* jsonFiles(dir: string): AsyncGenerator<string> {
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* jsonFiles(path);
    else if (e.isFile && e.name.endsWith(".json")) yield path;
  }
}

/**
 * Stores every results or reported-numbers JSON file under `dir` that the store has not loaded yet (by
 * content hash), one transaction per file. Other JSON files (benchmark logs, …) and invalid files are
 * skipped with a reason; they never stop the server.
 */
export async function loadResultsDir(
  dir: string,
  store: Store,
  datasets: ReadonlyMap<string, PreparedDataset>,
): Promise<LoadReport> {
  const report: LoadReport = { loaded: [], skipped: [] };
  for await (const path of jsonFiles(dir)) {
    const file = relative(dir, path) || path;
    const bytes = await Deno.readFile(path);
    const sha256 = await sha256Hex(bytes);
    if (store.fileLoaded(sha256)) continue;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      report.skipped.push({ file, reason: `malformed JSON (${(err as Error).message})` });
      continue;
    }
    const format = isObject(json) ? json.format : undefined;
    try {
      let results: NewResult[];
      if (format === RESULTS_FORMAT) {
        const problems = resultsProblems(json);
        if (problems.length > 0) {
          throw new ApiError(400, `not a valid results file: ${problems.slice(0, 3).join("; ")}`);
        }
        results = [await resultFromResultsFile(json as Results, datasets, file)];
      } else if (format === REPORTED_FORMAT) {
        results = await reportedResults(json);
      } else {
        report.skipped.push({
          file,
          reason: `not a results file (format ${JSON.stringify(format ?? null)})`,
        });
        continue;
      }
      const inserted = store.insertResults(results, { file: { path: file, sha256 } });
      report.loaded.push({
        file,
        ids: inserted.map((r) => r.id),
        created: inserted.filter((r) => r.created).length,
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      report.skipped.push({ file, reason: err.message });
    }
  }
  return report;
}
