// deno-lint-ignore-file jsx-key -- server-rendered once to HTML; there is no client-side reconciliation.
/**
 * A result page: method metadata, configuration, provenance, metrics with intervals, and the figures
 * computed from the stored per-sample predictions (served as SVG files beside the page).
 *
 * @module
 */

import type { Results } from "../../bench/score/results.ts";
import { METRIC_KEYS, REGION_KEYS, type ResultRow } from "../model.ts";
import { datasetHref, extraDataText, fmt, fmtCi, Layout, StatusBadge } from "./layout.tsx";

/** Props of {@linkcode ResultPage}. */
export interface ResultPageProps {
  /** The result's row. */
  row: ResultRow;
  /** Its full results (null for reported numbers). */
  results: Results | null;
  /** The baseline of the gain figure, if any. */
  baseline: ResultRow | null;
  /** Other results on the same test split that can be chosen as the baseline. */
  baselines: ResultRow[];
}

function Link(props: { href: string | null }) {
  return props.href ? <a href={props.href} rel="noopener noreferrer nofollow">{props.href}</a> : <>–</>;
}

/** The result page. */
export function ResultPage(props: ResultPageProps) {
  const { row, results } = props;
  const base = "../../";
  const m = row.method;
  return (
    <Layout title={`${m.name} on ${row.datasetId}`} base={base}>
      <h1>
        {m.name} <StatusBadge status={row.status} />
      </h1>
      <p class="lead">
        on <a href={datasetHref(base, row.datasetId)}>{row.datasetId}</a>, backbone {m.backbone}, family{" "}
        {m.family}
      </p>
      {row.flags.length > 0
        ? (
          <div class="flags" role="note">
            <strong>Flags</strong>
            <ul>{row.flags.map((f) => <li>{f}</li>)}</ul>
          </div>
        )
        : ""}
      <dl class="meta">
        <dt>Description</dt>
        <dd>{m.description || "–"}</dd>
        <dt>Paper</dt>
        <dd>
          <Link href={m.paperUrl} />
        </dd>
        <dt>Code</dt>
        <dd>
          <Link href={m.codeUrl} />
        </dd>
        <dt>Extra data</dt>
        <dd>{extraDataText(row)}</dd>
        <dt>Source</dt>
        <dd>
          {row.source === "submission" ? `submitted by ${row.submitter ?? "?"}` : row.origin ?? row.source}
        </dd>
        <dt>Stored</dt>
        <dd>{row.createdAt}</dd>
        <dt>Test split SHA-256</dt>
        <dd>
          <code>{row.testSha256 ?? "–"}</code>
        </dd>
        <dt>Id</dt>
        <dd>
          <code>{row.id}</code>
        </dd>
      </dl>
      <p class="downloads">
        Download: <a href="results.json">JSON</a> · <a href="results.csv">CSV</a>
      </p>
      <h2>Metrics</h2>
      <table class="lb metrics">
        <thead>
          <tr>
            <th>Region</th>
            <th class="num">n</th>
            {METRIC_KEYS.map((k) => <th class="num">{k.toUpperCase()}</th>)}
            {METRIC_KEYS.map((k) => <th>{k.toUpperCase()} 95% CI</th>)}
          </tr>
        </thead>
        <tbody>
          {REGION_KEYS.map((r) => {
            const n = row.regions[r];
            return (
              <tr>
                <td>{r}</td>
                <td class="num">{n.n ?? "–"}</td>
                {METRIC_KEYS.map((k) => <td class="num">{fmt(n[k])}</td>)}
                {METRIC_KEYS.map((k) => <td>{fmtCi(n.ci?.[k]) || "–"}</td>)}
              </tr>
            );
          })}
        </tbody>
      </table>
      {results
        ? (
          <p>
            Balanced MAE {fmt(results.metrics.balancedMae)} · Pearson {fmt(results.metrics.pearson)}{" "}
            · Spearman {fmt(results.metrics.spearman)} · CCC {fmt(results.metrics.ccc)} · invalid{" "}
            {results.metrics.invalid} · out of range {results.metrics.outOfRange} · parse policy{" "}
            {results.policy.parse}
          </p>
        )
        : (
          <p>
            These numbers are quoted from a paper and were not re-scored; there are no per-sample figures.
          </p>
        )}
      {results
        ? (
          <section class="plots">
            <h2>Figures</h2>
            <figure>
              <img src="abs-error.svg" alt={`sorted absolute error per region of ${m.name}`} class="plot" />
              <figcaption>Sorted absolute error per shot region.</figcaption>
            </figure>
            <figure>
              <img src="bin-mae.svg" alt={`MAE per label bin of ${m.name}`} class="plot" />
              <figcaption>MAE per label bin, with the training histogram behind it.</figcaption>
            </figure>
            {props.baseline
              ? (
                <figure>
                  <img
                    src={`gain/${encodeURIComponent(props.baseline.id)}.svg`}
                    alt={`MAE gain of ${m.name} over ${props.baseline.method.name}`}
                    class="plot"
                  />
                  <figcaption>
                    MAE gain per label bin against {props.baseline.method.name}{" "}
                    (positive: this result is better).
                  </figcaption>
                </figure>
              )
              : ""}
            {props.baselines.length > 0
              ? (
                <form method="get" class="baseline">
                  <label>
                    Baseline for the gain figure{" "}
                    <select name="baseline">
                      {props.baselines.map((b) => (
                        <option value={b.id} selected={b.id === props.baseline?.id}>
                          {b.method.name} ({b.method.backbone})
                        </option>
                      ))}
                    </select>
                  </label>{" "}
                  <button type="submit">Show</button>
                </form>
              )
              : ""}
          </section>
        )
        : ""}
      <h2>Configuration</h2>
      <pre>{JSON.stringify(m.config, null, 2)}</pre>
      {results
        ? (
          <>
            <h2>Provenance</h2>
            <pre>{JSON.stringify(results.provenance, null, 2)}</pre>
          </>
        )
        : ""}
    </Layout>
  );
}
