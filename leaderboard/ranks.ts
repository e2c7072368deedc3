/**
 * Significance-aware ranks. Within a table, the leader is the result with the lowest overall MAE; every
 * other re-scored result is compared with it by the paired, region-stratified bootstrap of
 * `compareResults` (the same as `deno task compare`). A result whose 95% interval of MAE(result) −
 * MAE(leader) contains zero shares first place; the others take 1 + the number of results with a lower
 * MAE. Reported numbers (no per-sample data) and results on another test split are not ranked.
 *
 * The comparisons are the expensive part; they are computed when results are written
 * ({@linkcode missingComparisons}, called by the store inside the write's transaction) and stored, so
 * {@linkcode rankRows}, which the pages use, only looks them up and counts.
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

/** A table's rows in rank order (overall MAE, ties in the given order), its leader and who is compared. */
export interface TablePlan {
  /** The rows by overall MAE (stable), reported numbers and missing MAEs last. */
  byMae: ResultRow[];
  /** The leader: the lowest overall MAE among results with per-sample records; null when none. */
  leader: ResultRow | null;
  /** The rows to compare with the leader (re-scored, per-sample records, the leader's test split). */
  compared: ResultRow[];
}

/**
 * Who leads a table and who is compared with the leader. `hasSamples` says whether a result has
 * per-sample records. Used both when writing (to know which comparisons to compute) and when ranking.
 */
export function planTable(rows: readonly ResultRow[], hasSamples: (id: string) => boolean): TablePlan {
  const byMae = [...rows].sort((a, b) => (a.regions.all.mae ?? Infinity) - (b.regions.all.mae ?? Infinity));
  const candidates = byMae.filter((r) => r.status !== "reported" && r.regions.all.mae !== null);
  const leader = candidates.find((r) => hasSamples(r.id)) ?? null;
  const compared = leader === null
    ? []
    : byMae.filter((row) =>
      row !== leader && row.status !== "reported" && row.testSha256 === leader.testSha256 &&
      hasSamples(row.id)
    );
  return { byMae, leader, compared };
}

/** The comparison the ranks use: the whole test set's MAE(result) − MAE(leader), paired bootstrap. */
export function compareWithLeader(leader: Results, result: Results): RegionComparison {
  return compareResults(leader, result).regions.all;
}

/**
 * The ids of the plan's compared results that `stored` has no comparison for yet (against the plan's
 * leader).
 */
export function missingComparisons(
  plan: TablePlan,
  stored: (leaderId: string, id: string) => RegionComparison | null,
): string[] {
  const leader = plan.leader;
  return leader === null
    ? []
    : plan.compared.filter((r) => stored(leader.id, r.id) === null).map((r) => r.id);
}

/**
 * Ranks `rows` (sorted by overall MAE, unranked rows last) from stored comparisons: `comparison` returns
 * the stored comparison of a result with a leader, or null. Nothing is computed here beyond counting; a
 * result whose comparison is missing (which writes prevent) is listed unranked.
 */
export function rankRows(
  rows: readonly ResultRow[],
  hasSamples: (id: string) => boolean,
  comparison: (leaderId: string, id: string) => RegionComparison | null,
): RankedRow[] {
  const { byMae, leader, compared } = planTable(rows, hasSamples);
  if (!leader) return byMae.map((row) => ({ row, rank: null, leader: false, vsLeader: null }));
  const rankable = new Set(compared);
  const ranked: RankedRow[] = [], unranked: RankedRow[] = [];
  // Ranked rows come in MAE order, so those with a lower MAE than the current row are a prefix.
  let better = 0;
  for (const row of byMae) {
    if (row === leader) {
      ranked.push({ row, rank: 1, leader: true, vsLeader: null });
      continue;
    }
    const cmp = rankable.has(row) ? comparison(leader.id, row.id) : null;
    if (!cmp) {
      unranked.push({ row, rank: null, leader: false, vsLeader: null });
      continue;
    }
    const worse = cmp.ci !== null && cmp.ci[0] > 0;
    while (better < ranked.length && ranked[better].row.regions.all.mae! < row.regions.all.mae!) better++;
    ranked.push({ row, rank: worse ? 1 + better : 1, leader: false, vsLeader: cmp });
  }
  return [...ranked, ...unranked];
}
