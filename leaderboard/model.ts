/**
 * The leaderboard's data model: what a stored result is, independent of how it is stored or shown.
 *
 * @module
 */

import type { ErrorIntervals } from "../bench/score/bootstrap.ts";
import type { Results } from "../bench/score/results.ts";

/** The four columns groups of every table: the whole test set and the three shot regions. */
export const REGION_KEYS = ["all", "many", "medium", "few"] as const;

/** One of {@linkcode REGION_KEYS}. */
export type RegionKey = typeof REGION_KEYS[number];

/** The three error metrics shown per region. */
export const METRIC_KEYS = ["mae", "gm", "mse"] as const;

/** One of {@linkcode METRIC_KEYS}. */
export type MetricKey = typeof METRIC_KEYS[number];

/**
 * How a result's numbers were obtained: `verified` (scored by this server from per-sample predictions
 * against its own test labels), `unverified` (a results file whose test labels this server does not hold)
 * or `reported` (quoted from a paper, not re-scored).
 */
export type ResultStatus = "verified" | "unverified" | "reported";

/** Where a result came from. */
export type ResultSource = "submission" | "file" | "paper";

/** A method's metadata, as submitted (or derived from a results file). */
export interface MethodInfo {
  /** Method name. */
  name: string;
  /** Free-text description. */
  description: string;
  /** Link to the paper (http or https), if any. */
  paperUrl: string | null;
  /** Link to the code (http or https), if any. */
  codeUrl: string | null;
  /** The backbone model, e.g. "Qwen2.5-VL-3B"; "unspecified" when not given. */
  backbone: string;
  /** Method family, e.g. "GRPO", "SFT", "baseline"; "unspecified" when not given. */
  family: string;
  /** Whether data beyond the dataset's training split was used (null: not stated). */
  extraData: boolean | null;
  /** Free-form configuration. */
  config: Record<string, unknown>;
}

/** One region's numbers. Nulls are empty regions or numbers a paper did not report. */
export interface RegionNumbers {
  /** Test samples in the region (null when unknown). */
  n: number | null;
  /** Mean absolute error. */
  mae: number | null;
  /** Geometric mean of absolute errors. */
  gm: number | null;
  /** Mean squared error. */
  mse: number | null;
  /** Bootstrap intervals (scored results only). */
  ci: ErrorIntervals | null;
}

/** A stored result as listed in tables: everything but the per-sample records. */
export interface ResultRow {
  /** Stable id: a hash of the test set, the method metadata and the predictions. */
  id: string;
  /** Dataset id. */
  datasetId: string;
  /** SHA-256 of the test split scored against (null for reported numbers). */
  testSha256: string | null;
  /** How the numbers were obtained. */
  status: ResultStatus;
  /** Where the result came from. */
  source: ResultSource;
  /** Method metadata. */
  method: MethodInfo;
  /** Numbers per region. */
  regions: Record<RegionKey, RegionNumbers>;
  /** Notes a reader should see, e.g. self-reported metrics that disagree with the re-scored ones. */
  flags: string[];
  /** Who submitted it (the token's name), null for files and papers. */
  submitter: string | null;
  /** Citation or file the numbers come from (reported results and files). */
  origin: string | null;
  /** ISO 8601 time it was stored. */
  createdAt: string;
  /** Hidden by an admin: not listed or shown. */
  hidden: boolean;
}

/** A result to store: its row fields and, for scored results, the full results object. */
export interface NewResult {
  /** The row (hidden and createdAt are set by the store). */
  row: Omit<ResultRow, "hidden" | "createdAt" | "submitter">;
  /** The full results (with per-sample records); null for reported numbers. */
  results: Results | null;
}

/** The regions of a scorer's metrics as {@linkcode RegionNumbers}. */
export function regionsOfResults(results: Pick<Results, "metrics">): Record<RegionKey, RegionNumbers> {
  const out = {} as Record<RegionKey, RegionNumbers>;
  for (const r of REGION_KEYS) {
    const m = results.metrics[r];
    out[r] = { n: m.n, mae: m.mae, gm: m.gm, mse: m.mse, ci: m.ci };
  }
  return out;
}

/** Dataset ids and result ids must be safe as one URL path segment and one file name. */
export const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
