/**
 * Starting a leaderboard: open the store, read the prepared datasets under `--data`, load the results
 * files under `--results` that are not stored yet, and build the app. Shared by `deno task serve` and
 * `deno task leaderboard:export`.
 *
 * @module
 */

import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { exists, isDir } from "../bench/core/fs.ts";
import { collectProvenance, type Provenance } from "../bench/core/provenance.ts";
import { type PreparedDataset, readPreparedDataset } from "../datasets/format.ts";
import { createApp, type Limits } from "./app.ts";
import { type LoadReport, loadResultsDir } from "./ingest.ts";
import { SAFE_ID } from "./model.ts";
import { openStore, type Store } from "./store.ts";

/**
 * Reads every prepared dataset directory (one with a `manifest.json`) directly under `dir`, keyed by its
 * manifest id. An unreadable dataset stops the start with its error; two directories with one id too.
 */
export async function loadDatasets(dir: string): Promise<Map<string, PreparedDataset>> {
  if (!(await isDir(dir))) throw new InputError("not a directory of prepared datasets", { file: dir });
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    // A symlink to a prepared dataset counts too (datasets are often linked from elsewhere).
    if (e.isDirectory || (e.isSymlink && await isDir(join(dir, e.name)))) names.push(e.name);
  }
  const out = new Map<string, PreparedDataset>();
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (!(await exists(join(path, "manifest.json")))) continue;
    const dataset = await readPreparedDataset(path);
    const id = dataset.manifest.id;
    if (!SAFE_ID.test(id)) {
      throw new InputError(`dataset id ${JSON.stringify(id)} cannot be used in URLs`, { file: path });
    }
    if (out.has(id)) throw new InputError(`a second dataset with id ${JSON.stringify(id)}`, { file: path });
    out.set(id, dataset);
  }
  return out;
}

/** Inputs of {@linkcode startLeaderboard}. */
export interface StartOptions {
  /** The SQLite file. */
  db: string;
  /** Directory of prepared datasets (optional). */
  data?: string;
  /** Directory of results files to load (optional; skipped when missing). */
  results?: string;
  /** Request limits. */
  limits?: Partial<Limits>;
  /** The scorer's provenance (default: collected now, with git). */
  provenance?: Provenance;
}

/** A started leaderboard. */
export interface Leaderboard {
  /** The store (close it when done). */
  store: Store;
  /** The prepared datasets. */
  datasets: Map<string, PreparedDataset>;
  /** The app. */
  app: ReturnType<typeof createApp>;
  /** What loading the results directory did. */
  report: LoadReport;
}

/** Opens the store, reads datasets, loads new results files and builds the app. */
export async function startLeaderboard(options: StartOptions): Promise<Leaderboard> {
  const datasets = options.data ? await loadDatasets(options.data) : new Map<string, PreparedDataset>();
  const store = openStore(options.db);
  try {
    const report = options.results && (await isDir(options.results))
      ? await loadResultsDir(options.results, store, datasets)
      : { loaded: [], skipped: [] };
    const provenance = options.provenance ?? (await collectProvenance());
    const app = createApp({ store, datasets, provenance, limits: options.limits });
    return { store, datasets, app, report };
  } catch (err) {
    store.close();
    throw err;
  }
}
