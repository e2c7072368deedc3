/**
 * The page frame and the small formatting helpers every page shares. Pages link with relative URLs
 * (`base` is the way back to the site root, e.g. `../../`), so the static export works under any path.
 *
 * @module
 */

import type { Child } from "hono/jsx";
import type { Interval } from "../../bench/score/bootstrap.ts";
import type { ResultRow, ResultStatus } from "../model.ts";

/** Props of {@linkcode Layout}. */
export interface LayoutProps {
  /** The page title. */
  title: string;
  /** Relative path from this page to the site root, ending in "/" ("./" at the root). */
  base: string;
  /** Which top-level page this is, for the navigation. */
  nav?: "home" | "submit";
  /** The page content. */
  children?: Child;
}

/** The frame of every page: head with the stylesheet and script (no inline code), navigation, content. */
export function Layout(props: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · dirbench leaderboard</title>
        <link rel="icon" href={`${props.base}static/favicon.svg`} type="image/svg+xml" />
        <link rel="stylesheet" href={`${props.base}static/leaderboard.css`} />
        <script src={`${props.base}static/leaderboard.js`} defer></script>
      </head>
      <body data-base={props.base}>
        <header class="top">
          <a class="brand" href={props.base}>dirbench leaderboard</a>
          <nav>
            <a href={props.base} aria-current={props.nav === "home" ? "page" : undefined}>Datasets</a>
            <a href={`${props.base}submit/`} aria-current={props.nav === "submit" ? "page" : undefined}>
              How to submit
            </a>
          </nav>
        </header>
        <main>{props.children}</main>
        <footer>
          Scored with dirbench's scorer (<code>bench/score</code>) against the server's own test labels.
        </footer>
      </body>
    </html>
  );
}

/** Renders a page element to a complete HTML document. */
export async function renderPage(page: Child): Promise<string> {
  return "<!DOCTYPE html>" + (await (page as { toString(): string | Promise<string> }).toString());
}

/** A number for a table cell: 2 decimals (1 for values ≥ 1000), "–" for null. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toFixed(2);
}

/** A p-value for display. */
export function fmtP(p: number | null): string {
  if (p === null) return "–";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

/** An interval as "95% CI [lo, hi]" (the hover text of metric cells), or "". */
export function fmtCi(ci: Interval | null | undefined, level = 0.95): string {
  return ci ? `${Math.round(level * 100)}% CI [${fmt(ci[0])}, ${fmt(ci[1])}]` : "";
}

const STATUS_TEXT: Record<ResultStatus, string> = {
  verified: "verified",
  unverified: "unverified",
  reported: "reported",
};

const STATUS_TITLE: Record<ResultStatus, string> = {
  verified: "re-scored by this server from per-sample predictions against its own test labels",
  unverified: "from a results file whose test labels this server does not hold; not re-scored",
  reported: "quoted from a paper; not re-scored",
};

/** The status badge of a result. */
export function StatusBadge(props: { status: ResultStatus }) {
  return (
    <span class={`badge ${props.status}`} title={STATUS_TITLE[props.status]}>
      {STATUS_TEXT[props.status]}
    </span>
  );
}

/** The link to a result's page. */
export function resultHref(base: string, id: string): string {
  return `${base}results/${encodeURIComponent(id)}/`;
}

/** The link to a dataset's page. */
export function datasetHref(base: string, id: string): string {
  return `${base}datasets/${encodeURIComponent(id)}/`;
}

/** The link to the comparison of two results. */
export function compareHref(base: string, a: string, b: string): string {
  return `${base}compare/${encodeURIComponent(a)}/${encodeURIComponent(b)}/`;
}

/** "yes", "no" or "not stated" for the extra-data flag. */
export function extraDataText(row: ResultRow): string {
  return row.method.extraData === null ? "not stated" : row.method.extraData ? "yes" : "no";
}
