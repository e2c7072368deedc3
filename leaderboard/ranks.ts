/**
 * Significance-aware ranks. Within a table, the leader is the result with the lowest overall MAE; every
 * other re-scored result is compared with it by the paired, region-stratified bootstrap of
 * `compareResults` (the same as `deno task compare`). A result whose 95% interval of MAE(result) −
 * MAE(leader) contains zero shares first place; the others take 1 + the number of results with a lower
 * MAE. Reported numbers (no per-sample data) and results on another test split are not ranked.
 *
 * @module
 */

import { compareResults, type RegionComparison } from "../bench/score/compare.ts";
import type { Results } from "../bench/score/results.ts";
import type { ResultRow } from "./model.ts";

/** A table row with its rank. */
export interface RankedRow {
  /** The result. */
  row: ResultRow;
  /** Its place (shared when not significantly worse than the leader); null when not ranked. */
  rank: number | null;
  /** Whether it is the leader. */
  leader: boolean;
  /** Its paired comparison with the leader over the whole test set (null for the leader and unranked). */
  vsLeader: RegionComparison | null;
}

/** Paired comparisons already computed, by `leaderId|id`; results are immutable, so entries never expire. */
export type ComparisonCache = Map<string, RegionComparison>;

/**
 * Ranks `rows` (sorted by overall MAE, unranked rows last). `load` returns a result's full results object
 * (null when it has no per-sample records); `cache` keeps comparisons between calls.
 */
export function rankRows(
  rows: readonly ResultRow[],
  load: (id: string) => Results | null,
  cache: ComparisonCache,
): RankedRow[] {
  const byMae = [...rows].sort((a, b) => (a.regions.all.mae ?? Infinity) - (b.regions.all.mae ?? Infinity));
  const candidates = byMae.filter((r) => r.status !== "reported" && r.regions.all.mae !== null);
  const leaderRow = candidates.find((r) => load(r.id) !== null);
  if (!leaderRow) return byMae.map((row) => ({ row, rank: null, leader: false, vsLeader: null }));
  const leader = load(leaderRow.id)!;
  const ranked: RankedRow[] = [], unranked: RankedRow[] = [];
  for (const row of byMae) {
    if (row === leaderRow) {
      ranked.push({ row, rank: 1, leader: true, vsLeader: null });
      continue;
    }
    const results = row.status === "reported" || row.testSha256 !== leaderRow.testSha256
      ? null
      : load(row.id);
    if (!results) {
      unranked.push({ row, rank: null, leader: false, vsLeader: null });
      continue;
    }
    const key = `${leaderRow.id}|${row.id}`;
    let cmp = cache.get(key);
    if (!cmp) {
      cmp = compareResults(leader, results).regions.all;
      cache.set(key, cmp);
    }
    const worse = cmp.ci !== null && cmp.ci[0] > 0;
    const better = ranked.filter((r) => r.row.regions.all.mae! < row.regions.all.mae!).length;
    ranked.push({ row, rank: worse ? 1 + better : 1, leader: false, vsLeader: cmp });
  }
  return [...ranked, ...unranked];
}
