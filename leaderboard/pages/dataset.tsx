// deno-lint-ignore-file jsx-key -- server-rendered once to HTML; there is no client-side reconciliation.
/**
 * A dataset page: one table per backbone with All / Many / Medium / Few × MAE, GM, MSE, sortable and
 * filterable in the browser (`static/leaderboard.js`), the 95% interval of each number on hover, and
 * significance ranks.
 *
 * @module
 */

import { METRIC_KEYS, REGION_KEYS } from "../model.ts";
import type { RankedRow } from "../ranks.ts";
import type { DatasetView } from "../views.ts";
import { compareHref, extraDataText, fmt, fmtCi, fmtP, Layout, resultHref, StatusBadge } from "./layout.tsx";

const METRIC_TITLE = { mae: "MAE", gm: "GM", mse: "MSE" } as const;

/**
 * Rows per backbone table on a dataset page; the rest are on its "all results" page (`all/`). A page with
 * every row of a 1,000-result dataset is 1.2 MB (213 kB gzipped) and is what limited the page's throughput
 * and tail latency under load.
 */
export const TOP_ROWS = 50;

/** A number as a sort key (empty for null, so nulls sort last). */
function sortKey(v: number | null): string {
  return v === null ? "" : String(Number(v.toPrecision(6)));
}

function rankTitle(r: RankedRow): string {
  if (r.leader) return "leader: lowest overall MAE";
  if (r.rank === null) {
    return r.row.status === "reported"
      ? "not ranked: reported numbers have no per-sample errors to compare"
      : "not ranked: no per-sample errors on the leader's test split";
  }
  const c = r.vsLeader!;
  const verdict = r.rank === 1
    ? "not significantly worse than the leader"
    : "significantly worse than the leader";
  return `${verdict}: MAE difference ${c.diff === null ? "–" : `+${fmt(c.diff)}`}, ${fmtCi(c.ci)}, p = ${
    fmtP(c.p)
  }`;
}

function Row(props: { r: RankedRow; base: string }) {
  const { row } = props.r;
  return (
    <tr data-family={row.method.family} data-backbone={row.method.backbone} data-status={row.status}>
      <td
        class="num rank"
        data-v={props.r.rank === null ? "" : String(props.r.rank)}
        title={rankTitle(props.r)}
      >
        {props.r.rank ?? "–"}
      </td>
      <td data-v={row.method.name}>
        <input
          type="checkbox"
          class="pick"
          value={row.id}
        />{" "}
        <a href={resultHref(props.base, row.id)}>{row.method.name}</a>{" "}
        <span class={`badge ${row.status}`}>{row.status}</span>
        {row.flags.length > 0 ? <span class="badge flag" title={row.flags.join("; ")}>flagged</span> : ""}
      </td>
      <td>{row.method.family}</td>
      <td>{extraDataText(row)}</td>
      {REGION_KEYS.flatMap((region) =>
        METRIC_KEYS.map((metric) => {
          const v = row.regions[region][metric];
          return <td data-v={sortKey(v)} title={fmtCi(row.regions[region].ci?.[metric])}>{fmt(v)}</td>;
        })
      )}
    </tr>
  );
}

/**
 * The dataset page: the best {@linkcode TOP_ROWS} rows of each backbone table, or, with `all`, every row
 * (served at `all/`).
 */
export function DatasetPage(props: { view: DatasetView; all?: boolean }) {
  const { summary, tables, families } = props.view;
  const all = props.all ?? false;
  const base = all ? "../../../" : "../../";
  const here = all ? "../" : "";
  const id = encodeURIComponent(summary.id);
  const truncated = !all && tables.some((t) => t.rows.length > TOP_ROWS);
  return (
    <Layout title={all ? `${summary.id}: all results` : summary.id} base={base}>
      <h1>{summary.id}{all ? ": all results" : ""}</h1>
      <p class="lead">
        {summary.trainCount ?? "?"} training and {summary.testCount ?? "?"} test samples
        {summary.unit ? ` (labels in ${summary.unit})` : ""}. {summary.accepting
          ? "This server accepts submissions for it."
          : "This server does not hold its test labels."}{" "}
        Ranks share a place when the paired bootstrap interval of the MAE difference to the leader contains
        zero; hover a number for its 95% interval.
      </p>
      {truncated
        ? (
          <p class="note">
            Each table shows its {TOP_ROWS} best-ranked results; sorting and filtering apply to those.{" "}
            <a href="all/">All results</a> are on one longer page.
          </p>
        )
        : ""}
      {all
        ? (
          <p class="note">
            Every result, on one page. <a href="../">The best of each table</a>.
          </p>
        )
        : ""}
      <p class="note">
        <StatusBadge status="verified" /> re-scored here from per-sample predictions ·{" "}
        <StatusBadge status="unverified" /> a results file this server cannot re-score ·{" "}
        <StatusBadge status="reported" /> quoted from a paper, not re-scored
      </p>
      <p class="downloads">
        Download this table: <a href={`${here}results.json`}>JSON</a> · <a href={`${here}results.csv`}>CSV</a>
        {" "}
        · <a href={`${base}api/datasets/${id}/results`}>API</a>
      </p>
      <form class="filters" id="filters">
        <label>
          Family{" "}
          <select name="family" data-filter="family">
            <option value="">all</option>
            {families.map((f) => <option value={f}>{f}</option>)}
          </select>
        </label>
        <label>
          Backbone{" "}
          <select name="backbone" data-filter="backbone">
            <option value="">all</option>
            {tables.map((t) => <option value={t.backbone}>{t.backbone}</option>)}
          </select>
        </label>
        <label>
          Status{" "}
          <select name="status" data-filter="status">
            <option value="">all</option>
            <option value="verified">verified</option>
            <option value="unverified">unverified</option>
            <option value="reported">reported</option>
          </select>
        </label>
        <button type="button" id="compare-picked" disabled>Compare the two picked</button>
      </form>
      {tables.length === 0 ? <p>No results yet.</p> : ""}
      {tables.map((t) => (
        <section class="backbone" data-backbone={t.backbone}>
          <h2>Backbone: {t.backbone}</h2>
          {!all && t.rows.length > TOP_ROWS
            ? (
              <p class="note">
                The {TOP_ROWS} best of {t.rows.length} results; <a href="all/">all results</a>.
              </p>
            )
            : ""}
          <div class="scroll">
            <table class="lb sortable">
              <thead>
                <tr>
                  <th rowspan={2} aria-sort="ascending">
                    <button type="button" data-col="0" data-type="num">#</button>
                  </th>
                  <th rowspan={2}>
                    <button type="button" data-col="1" data-type="text">Method</button>
                  </th>
                  <th rowspan={2}>Family</th>
                  <th rowspan={2}>Extra data</th>
                  {REGION_KEYS.map((r) => <th colspan={3} class="group">{r[0].toUpperCase() + r.slice(1)}
                  </th>)}
                </tr>
                <tr>
                  {REGION_KEYS.flatMap((r, i) =>
                    METRIC_KEYS.map((m, j) => (
                      <th class="num" data-region={r} data-metric={m}>
                        <button type="button" data-col={String(4 + i * 3 + j)} data-type="num">
                          {METRIC_TITLE[m]}
                        </button>
                      </th>
                    ))
                  )}
                </tr>
              </thead>
              <tbody>
                {(all ? t.rows : t.rows.slice(0, TOP_ROWS)).map((r) => <Row r={r} base={base} />)}
              </tbody>
            </table>
          </div>
          {t.rows.length > 1 && t.rows[0].leader
            ? (
              <p class="note">
                Compare with the leader:{" "}
                {t.rows.slice(1).filter((r) => r.rank !== null).slice(0, 5).map((r, i) => (
                  <>
                    {i > 0 ? ", " : ""}
                    <a href={compareHref(base, t.rows[0].row.id, r.row.id)}>{r.row.method.name}</a>
                  </>
                ))}
              </p>
            )
            : ""}
        </section>
      ))}
    </Layout>
  );
}
