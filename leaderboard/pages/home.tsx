// deno-lint-ignore-file jsx-key -- server-rendered once to HTML; there is no client-side reconciliation.
/**
 * The home page: every dataset with its sizes and the current best result per shot region.
 *
 * @module
 */

import { REGION_KEYS } from "../model.ts";
import type { DatasetSummary } from "../views.ts";
import { datasetHref, fmt, Layout, resultHref } from "./layout.tsx";

/** The home page. */
export function HomePage(props: { datasets: DatasetSummary[] }) {
  const base = "./";
  return (
    <Layout title="Datasets" base={base} nav="home">
      <h1>Deep imbalanced regression leaderboard</h1>
      <p class="lead">
        Shot-aware MAE of every method on each dataset: <em>many</em>-, <em>medium</em>- and{" "}
        <em>few</em>-shot regions are the label bins with more than 100, 20 to 100, and fewer than 20 training
        samples. Best results are among re-scored ones (reported paper numbers are listed on the dataset
        pages).
      </p>
      {props.datasets.length === 0 ? <p>No datasets yet.</p> : (
        <table class="lb home">
          <thead>
            <tr>
              <th>Dataset</th>
              <th class="num">Train</th>
              <th class="num">Test</th>
              <th class="num">Results</th>
              {REGION_KEYS.map((r) => <th>Best {r} (MAE)</th>)}
            </tr>
          </thead>
          <tbody>
            {props.datasets.map((d) => (
              <tr>
                <td>
                  <a href={datasetHref(base, d.id)}>{d.id}</a>
                  {d.accepting
                    ? " "
                    : <span class="badge muted" title="this server holds no test labels">closed</span>}
                </td>
                <td class="num">{d.trainCount ?? "–"}</td>
                <td class="num">{d.testCount ?? "–"}</td>
                <td class="num">{d.results}</td>
                {REGION_KEYS.map((r) => {
                  const best = d.best[r];
                  return (
                    <td>
                      {best
                        ? (
                          <>
                            <a href={resultHref(base, best.row.id)}>{best.row.method.name}</a>{" "}
                            <span class="num">{fmt(best.mae)}</span>
                          </>
                        )
                        : "–"}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
