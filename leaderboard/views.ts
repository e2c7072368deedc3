/**
 * What the pages show, computed from the store and cached per store version: the datasets with their
 * sizes and current best results, and each dataset's tables (one per backbone) with significance ranks.
 *
 * @module
 */

import type { PreparedDataset } from "../datasets/format.ts";
import { REGION_KEYS, type RegionKey, type ResultRow } from "./model.ts";
import { type RankedRow, rankRows } from "./ranks.ts";
import type { Store } from "./store.ts";

/** A dataset as the home page lists it. */
export interface DatasetSummary {
  /** Dataset id. */
  id: string;
  /** Training samples (null when unknown). */
  trainCount: number | null;
  /** Test samples (null when unknown). */
  testCount: number | null;
  /** Label unit, e.g. "years". */
  unit: string;
  /** Whether this server holds the test labels and so accepts submissions for it. */
  accepting: boolean;
  /** Visible results. */
  results: number;
  /** The lowest MAE per region among re-scored results (not reported numbers). */
  best: Record<RegionKey, { row: ResultRow; mae: number } | null>;
}

/** One backbone's table on a dataset page. */
export interface BackboneTable {
  /** The backbone. */
  backbone: string;
  /** Its rows, ranked. */
  rows: RankedRow[];
}

/** A dataset page's content. */
export interface DatasetView {
  /** The dataset. */
  summary: DatasetSummary;
  /** One table per backbone, backbones in alphabetical order. */
  tables: BackboneTable[];
  /** Method families present, for the filter. */
  families: string[];
}

/** Cached views over a store. */
export interface Views {
  /** Every dataset that has results or accepts submissions. */
  datasets(): DatasetSummary[];
  /** A dataset's page content, or null when it has neither results nor test labels. */
  dataset(id: string): DatasetView | null;
  /** The default baseline for a result's gain figure: its table's leader, or the runner-up for the leader. */
  defaultBaseline(row: ResultRow): ResultRow | null;
}

function summarise(
  id: string,
  rows: readonly ResultRow[],
  prepared: PreparedDataset | undefined,
  store: Store,
) {
  const scored = rows.filter((r) => r.status !== "reported");
  const best = {} as DatasetSummary["best"];
  for (const region of REGION_KEYS) {
    let top: { row: ResultRow; mae: number } | null = null;
    for (const row of scored) {
      const mae = row.regions[region].mae;
      if (mae !== null && (top === null || mae < top.mae)) top = { row, mae };
    }
    best[region] = top;
  }
  const fromFile = scored.length > 0 ? store.results(scored[0].id)?.dataset : undefined;
  return {
    id,
    trainCount: prepared?.train.samples.length ?? fromFile?.trainCount ?? null,
    testCount: prepared?.test.samples.length ?? fromFile?.testCount ?? null,
    unit: prepared?.manifest.label.unit ?? fromFile?.label.unit ?? "",
    accepting: prepared !== undefined,
    results: rows.length,
    best,
  };
}

/** Builds the views of `store`; `datasets` are the prepared datasets the server scores against. */
export function createViews(store: Store, datasets: ReadonlyMap<string, PreparedDataset>): Views {
  let cachedVersion = -1;
  let datasetCache = new Map<string, DatasetView | null>();
  let listCache: DatasetSummary[] | null = null;
  const fresh = () => {
    if (store.version() !== cachedVersion) {
      cachedVersion = store.version();
      datasetCache = new Map();
      listCache = null;
    }
  };

  function dataset(id: string): DatasetView | null {
    fresh();
    if (datasetCache.has(id)) return datasetCache.get(id)!;
    const rows = store.rows(id);
    const prepared = datasets.get(id);
    let view: DatasetView | null = null;
    if (rows.length > 0 || prepared) {
      const backbones = [...new Set(rows.map((r) => r.method.backbone))].sort();
      view = {
        summary: summarise(id, rows, prepared, store),
        tables: backbones.map((backbone) => ({
          backbone,
          rows: rankRows(
            rows.filter((r) => r.method.backbone === backbone),
            store.hasSamples,
            store.comparison,
          ),
        })),
        families: [...new Set(rows.map((r) => r.method.family))].sort(),
      };
    }
    datasetCache.set(id, view);
    return view;
  }

  return {
    datasets() {
      fresh();
      listCache ??= [...new Set([...store.datasetIds(), ...datasets.keys()])].sort().map((id) =>
        dataset(id)!.summary
      );
      return listCache;
    },
    dataset,
    defaultBaseline(row) {
      const table = dataset(row.datasetId)?.tables.find((t) => t.backbone === row.method.backbone);
      const ranked = (table?.rows ?? []).filter((r) => r.rank !== null && r.row.id !== row.id);
      return ranked[0]?.row ?? null;
    },
  };
}
