// deno-lint-ignore-file jsx-key -- server-rendered once to HTML; there is no client-side reconciliation.
/**
 * The comparison of two results: per region, both MAEs, the paired difference with its bootstrap interval
 * and p-value (`compareResults`, as `deno task compare`), and the per-bin gain figure.
 *
 * @module
 */

import type { Comparison } from "../../bench/score/compare.ts";
import { REGION_KEYS, type ResultRow } from "../model.ts";
import { datasetHref, fmt, fmtCi, fmtP, Layout, resultHref } from "./layout.tsx";

/** The compare page. */
export function ComparePage(props: { a: ResultRow; b: ResultRow; cmp: Comparison }) {
  const { a, b, cmp } = props;
  const base = "../../../";
  return (
    <Layout title={`${b.method.name} vs ${a.method.name}`} base={base}>
      <h1>
        <a href={resultHref(base, b.id)}>{b.method.name}</a> vs{" "}
        <a href={resultHref(base, a.id)}>{a.method.name}</a>
      </h1>
      <p class="lead">
        On <a href={datasetHref(base, a.datasetId)}>{a.datasetId}</a>, {cmp.shared}{" "}
        shared test samples. Difference = MAE(B) − MAE(A), B = {b.method.name}, A ={" "}
        {a.method.name}: negative means B is better. Paired bootstrap stratified by region ({cmp.bootstrap
          .resamples} resamples).
      </p>
      {cmp.warnings.length > 0 ? <ul class="flags">{cmp.warnings.map((w) => <li>{w}</li>)}</ul> : ""}
      <p class="downloads">
        Download: <a href="compare.json">JSON</a> · <a href="compare.csv">CSV</a>
      </p>
      <table class="lb metrics">
        <thead>
          <tr>
            <th>Region</th>
            <th class="num">n</th>
            <th class="num">MAE A</th>
            <th class="num">MAE B</th>
            <th class="num">B − A</th>
            <th>95% CI</th>
            <th class="num">p</th>
          </tr>
        </thead>
        <tbody>
          {REGION_KEYS.map((r) => {
            const c = cmp.regions[r];
            return (
              <tr>
                <td>{r}</td>
                <td class="num">{c.n}</td>
                <td class="num">{fmt(c.maeA)}</td>
                <td class="num">{fmt(c.maeB)}</td>
                <td class="num">{fmt(c.diff)}</td>
                <td>{fmtCi(c.ci, cmp.bootstrap.level) || "–"}</td>
                <td class="num">{fmtP(c.p)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <figure>
        <img src="gain.svg" alt={`MAE gain of ${b.method.name} over ${a.method.name}`} class="plot" />
        <figcaption>Per-bin MAE gain of B over A against the training density.</figcaption>
      </figure>
    </Layout>
  );
}
