/**
 * The leaderboard's Hono app: pages, downloads and the submission API. The middleware is, in order:
 * security headers (strict CSP) on every response, the JSON error handler, trailing-slash redirects for
 * pages, and on `POST /api/submissions` authentication, the per-token rate limit and the body limit, in
 * that order, before anything is read or written.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { appendTrailingSlash } from "hono/trailing-slash";
import type { Provenance } from "../bench/core/provenance.ts";
import { compareResults } from "../bench/score/compare.ts";
import { binMaeFigure, errorCurveFigure, gainFigure } from "../bench/score/figures.ts";
import type { Results } from "../bench/score/results.ts";
import type { PreparedDataset } from "../datasets/format.ts";
import { toCsv } from "./csv.ts";
import { ApiError } from "./errors.ts";
import { METRIC_KEYS, REGION_KEYS, type ResultRow } from "./model.ts";
import { ComparePage } from "./pages/compare.tsx";
import { DatasetPage } from "./pages/dataset.tsx";
import { HomePage } from "./pages/home.tsx";
import { renderPage } from "./pages/layout.tsx";
import { ResultPage } from "./pages/result.tsx";
import { SubmitPage } from "./pages/submit_docs.tsx";
import { createRateLimiter } from "./rate_limit.ts";
import type { Store, TokenInfo } from "./store.ts";
import { DEFAULT_FIELD_LIMITS, type FieldLimits, parseSubmission, scoreSubmission } from "./submit.ts";
import { createViews, type DatasetView } from "./views.ts";

/** Request limits. */
export interface Limits {
  /** Largest accepted submission body, in bytes. */
  maxBodyBytes: number;
  /** Submissions allowed per token per window. */
  ratePerWindow: number;
  /** The rate window, in milliseconds. */
  rateWindowMs: number;
  /** Field length limits. */
  fields: FieldLimits;
}

/** Default limits: 64 MiB bodies, 20 submissions per token per hour. */
export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 64 * 1024 * 1024,
  ratePerWindow: 20,
  rateWindowMs: 60 * 60 * 1000,
  fields: DEFAULT_FIELD_LIMITS,
};

/** Inputs of {@linkcode createApp}. */
export interface AppOptions {
  /** The store. */
  store: Store;
  /** Prepared datasets by id: the test labels submissions are scored against. */
  datasets: ReadonlyMap<string, PreparedDataset>;
  /** The scorer's provenance (the date is set per submission). */
  provenance: Provenance;
  /** Request limits (defaults: {@linkcode DEFAULT_LIMITS}). */
  limits?: Partial<Limits>;
  /** Where unexpected errors are logged (default: console.error). Clients never see them. */
  log?: (message: string) => void;
}

/** The Content-Security-Policy of every response: no inline script or style, nothing from elsewhere. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const TYPES = {
  html: "text/html; charset=utf-8",
  json: "application/json; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  svg: "image/svg+xml",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
} as const;

const STATIC_FILES = {
  "leaderboard.css": TYPES.css,
  "leaderboard.js": TYPES.js,
  "favicon.svg": TYPES.svg,
} as const;

/** A rendered response, kept until the next write. */
interface CacheEntry {
  /** The body, UTF-8. */
  body: Uint8Array<ArrayBuffer>;
  /** The body gzipped, made on the first request that accepts gzip (null: not yet, or not worth it). */
  gzip: Uint8Array<ArrayBuffer> | null;
  /** Its entity tag. */
  etag: string;
  /** Response headers of the plain body (security headers included). */
  headers: Record<string, string>;
  /** Response headers of the gzipped body. */
  gzipHeaders: Record<string, string>;
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const GZIP = /\bgzip\b/;

/** A table as JSON: what `GET /api/datasets/<id>/results` and the dataset page's JSON download return. */
export function tableJson(view: DatasetView): unknown {
  return {
    dataset: view.summary.id,
    results: view.tables.flatMap((t) =>
      t.rows.map(({ row, rank }) => ({
        id: row.id,
        method: row.method.name,
        backbone: row.method.backbone,
        family: row.method.family,
        status: row.status,
        extraData: row.method.extraData,
        rank,
        flags: row.flags,
        metrics: row.regions,
      }))
    ),
  };
}

function tableCsv(view: DatasetView): string {
  const header = ["id", "rank", "method", "backbone", "family", "status", "extra_data"];
  for (const r of REGION_KEYS) {
    header.push(`${r}_n`);
    for (const m of METRIC_KEYS) header.push(`${r}_${m}`, `${r}_${m}_ci_low`, `${r}_${m}_ci_high`);
  }
  const rows = view.tables.flatMap((t) =>
    t.rows.map(({ row, rank }) => {
      const cells: (string | number | boolean | null)[] = [
        row.id,
        rank,
        row.method.name,
        row.method.backbone,
        row.method.family,
        row.status,
        row.method.extraData,
      ];
      for (const r of REGION_KEYS) {
        const n = row.regions[r];
        cells.push(n.n);
        for (const m of METRIC_KEYS) cells.push(n[m], n.ci?.[m]?.[0] ?? null, n.ci?.[m]?.[1] ?? null);
      }
      return cells;
    })
  );
  return toCsv(header, rows);
}

function resultJson(row: ResultRow, results: Results | null): unknown {
  const leaderboard = { ...row };
  return results ? { ...results, leaderboard } : { format: "dirbench.reported/1", leaderboard };
}

function resultCsv(row: ResultRow, results: Results | null): string {
  if (!results) {
    return toCsv(
      ["region", "mae", "gm", "mse"],
      REGION_KEYS.map((r) => [r, row.regions[r].mae, row.regions[r].gm, row.regions[r].mse]),
    );
  }
  return toCsv(
    ["id", "label", "output", "status", "value", "out_of_range", "region", "abs_error"],
    results.samples.map((
      s,
    ) => [s.id, s.label, s.output, s.status, s.value, s.outOfRange, s.region, s.absError]),
  );
}

/** Builds the leaderboard app. */
export function createApp(options: AppOptions): Hono {
  const { store, datasets } = options;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? ((m: string) => console.error(m));
  const views = createViews(store, datasets);
  const limiter = createRateLimiter(limits.ratePerWindow, limits.rateWindowMs);
  const staticFiles = new Map(
    Object.entries(STATIC_FILES).map((
      [name, type],
    ) => [name, { type, body: Deno.readTextFileSync(new URL(`./static/${name}`, import.meta.url)) }]),
  );

  // Rendered responses per store version: results are immutable, so only writes invalidate. Bodies are
  // kept UTF-8 encoded, gzipped once for clients that accept it, with their headers made once: a cached
  // answer costs a map lookup and no database query, rendering, encoding or compression.
  let cacheVersion = -1;
  const cache = new Map<string, CacheEntry>();
  // Versions restart with the process; the tag of this start keeps entity tags from meaning two things.
  const boot = crypto.randomUUID().slice(0, 8);
  const encoder = new TextEncoder();
  async function cached(
    c: Context,
    type: string,
    render: () => string | Promise<string> | null,
  ): Promise<Response> {
    if (store.version() !== cacheVersion || cache.size > 10_000) {
      cache.clear();
      cacheVersion = store.version();
    }
    const url = c.req.url, q = url.indexOf("?");
    const key = q < 0 ? c.req.path : c.req.path + url.slice(q);
    let entry = cache.get(key);
    if (!entry) {
      const version = cacheVersion;
      const text = await render();
      if (text === null) return notFound(c);
      const body = encoder.encode(text);
      const etag = `W/"${boot}-${version}-${cache.size}-${body.length}"`;
      const headers = { ...SECURITY_HEADERS, "Content-Type": type, ETag: etag, Vary: "Accept-Encoding" };
      const zipped = body.length > 1024 ? await gzip(body) : null;
      entry = { body, gzip: zipped, etag, headers, gzipHeaders: { ...headers, "Content-Encoding": "gzip" } };
      // A write during the render or compression made this entry stale: answer it, but do not keep it.
      if (store.version() === version) cache.set(key, entry);
    }
    if (c.req.header("if-none-match") === entry.etag) return c.body(null, 304, entry.headers);
    if (entry.gzip !== null && GZIP.test(c.req.header("accept-encoding") ?? "")) {
      return c.body(entry.gzip, 200, entry.gzipHeaders);
    }
    return c.body(entry.body, 200, entry.headers);
  }

  function isApi(c: Context): boolean {
    return c.req.path.startsWith("/api/");
  }

  function notFound(c: Context): Response {
    if (isApi(c) || /\.(json|csv|svg)$/.test(c.req.path)) {
      return c.json({ error: `not found: ${c.req.method} ${c.req.path.slice(0, 200)}` }, 404);
    }
    return c.html('<!DOCTYPE html><title>Not found</title><p>Not found. <a href="/">Home</a></p>', 404);
  }

  const visible = (id: string): ResultRow | null => {
    const row = store.row(id);
    return row && !row.hidden ? row : null;
  };

  function authenticate(c: Context): TokenInfo {
    const header = c.req.header("authorization");
    const m = header ? /^Bearer ([\x21-\x7e]{1,200})$/.exec(header) : null;
    if (!m) {
      throw new ApiError(401, "authorization: send an Authorization: Bearer <token> header", {
        "WWW-Authenticate": 'Bearer realm="dirbench"',
      });
    }
    const token = store.verifyToken(m[1]);
    if (!token) {
      throw new ApiError(401, "authorization: the token is not valid", {
        "WWW-Authenticate": 'Bearer realm="dirbench", error="invalid_token"',
      });
    }
    return token;
  }

  async function jsonBody(c: Context): Promise<unknown> {
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw new ApiError(
        415,
        `content-type: send the body as application/json, got ${JSON.stringify(type.slice(0, 100))}`,
      );
    }
    const text = await c.req.text();
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ApiError(400, `body: not valid JSON (${(err as Error).message.slice(0, 200)})`);
    }
  }

  const app = new Hono<{ Variables: { token: TokenInfo } }>();

  app.use(async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ error: err.message }, err.status, err.headers);
    log(`${c.req.method} ${c.req.path}: ${err instanceof Error ? err.stack : String(err)}`);
    return isApi(c) ? c.json({ error: "internal server error" }, 500) : c.text("internal server error", 500);
  });
  app.notFound(notFound);
  // Pages live at "…/" (so relative links work the same in the static export); redirect "…" there.
  const slash = appendTrailingSlash();
  app.use((c, next) => (isApi(c) ? next() : slash(c, next)));

  // Pages.
  app.get("/", (c) => cached(c, TYPES.html, () => renderPage(HomePage({ datasets: views.datasets() }))));
  app.get("/submit/", (c) =>
    cached(c, TYPES.html, () =>
      renderPage(SubmitPage({
        datasets: [...datasets.keys()].sort(),
        fields: limits.fields,
        maxBodyBytes: limits.maxBodyBytes,
        ratePerWindow: limits.ratePerWindow,
        rateWindowSeconds: Math.round(limits.rateWindowMs / 1000),
      }))));
  app.get("/static/:name", (c) => {
    const file = staticFiles.get(c.req.param("name"));
    if (!file) return notFound(c);
    return c.body(file.body, 200, { "Content-Type": file.type, "Cache-Control": "public, max-age=300" });
  });

  app.get("/datasets/:id/", (c) =>
    cached(c, TYPES.html, () => {
      const view = views.dataset(c.req.param("id"));
      return view && renderPage(DatasetPage({ view }));
    }));
  app.get("/datasets/:id/all/", (c) =>
    cached(c, TYPES.html, () => {
      const view = views.dataset(c.req.param("id"));
      return view && renderPage(DatasetPage({ view, all: true }));
    }));
  app.get("/datasets/:id/results.json", (c) =>
    cached(c, TYPES.json, () => {
      const view = views.dataset(c.req.param("id"));
      return view && JSON.stringify(tableJson(view), null, 2);
    }));
  app.get("/datasets/:id/results.csv", (c) =>
    cached(c, TYPES.csv, () => {
      const view = views.dataset(c.req.param("id"));
      return view && tableCsv(view);
    }));
  app.get("/api/datasets/:id/results", (c) =>
    cached(c, TYPES.json, () => {
      const view = views.dataset(c.req.param("id"));
      return view && JSON.stringify(tableJson(view));
    }));

  app.get("/results/:id/", (c) =>
    cached(c, TYPES.html, () => {
      const row = visible(c.req.param("id"));
      if (!row) return null;
      const results = store.results(row.id);
      const baselines = results
        ? store.rows(row.datasetId).filter((r) =>
          r.id !== row.id && r.testSha256 === row.testSha256 && store.hasSamples(r.id)
        )
        : [];
      const chosen = c.req.query("baseline");
      const baseline = chosen ? baselines.find((b) => b.id === chosen) ?? null : views.defaultBaseline(row);
      return renderPage(ResultPage({ row, results, baseline, baselines }));
    }));
  app.get("/results/:id/results.json", (c) =>
    cached(c, TYPES.json, () => {
      const row = visible(c.req.param("id"));
      return row && JSON.stringify(resultJson(row, store.results(row.id)), null, 2);
    }));
  app.get("/results/:id/results.csv", (c) =>
    cached(c, TYPES.csv, () => {
      const row = visible(c.req.param("id"));
      return row && resultCsv(row, store.results(row.id));
    }));
  app.get("/results/:id/abs-error.svg", (c) =>
    cached(c, TYPES.svg, () => {
      const row = visible(c.req.param("id"));
      const results = row && store.results(row.id);
      return results ? errorCurveFigure(results) : null;
    }));
  app.get("/results/:id/bin-mae.svg", (c) =>
    cached(c, TYPES.svg, () => {
      const row = visible(c.req.param("id"));
      const results = row && store.results(row.id);
      return results ? binMaeFigure(results) : null;
    }));
  app.get("/results/:id/gain/:file{[^/]+\\.svg}", (c) =>
    cached(c, TYPES.svg, () => {
      const pair = comparable(c.req.param("file").replace(/\.svg$/, ""), c.req.param("id"));
      return pair && gainFigure(compareResults(pair.a, pair.b), pair.a.dataset.label.unit);
    }));

  /** Two visible results on the same test split, A then B, or null. */
  function comparable(
    a: string,
    b: string,
  ): { rowA: ResultRow; rowB: ResultRow; a: Results; b: Results } | null {
    const rowA = visible(a), rowB = visible(b);
    const ra = rowA && store.results(rowA.id), rb = rowB && store.results(rowB.id);
    if (!rowA || !rowB || !ra || !rb || ra.dataset.testSha256 !== rb.dataset.testSha256) return null;
    return { rowA, rowB, a: ra, b: rb };
  }

  app.get("/compare/:a/:b/", (c) =>
    cached(c, TYPES.html, () => {
      const pair = comparable(c.req.param("a"), c.req.param("b"));
      return pair &&
        renderPage(ComparePage({ a: pair.rowA, b: pair.rowB, cmp: compareResults(pair.a, pair.b) }));
    }));
  app.get("/compare/:a/:b/compare.json", (c) =>
    cached(c, TYPES.json, () => {
      const pair = comparable(c.req.param("a"), c.req.param("b"));
      return pair && JSON.stringify(compareResults(pair.a, pair.b), null, 2);
    }));
  app.get("/compare/:a/:b/compare.csv", (c) =>
    cached(c, TYPES.csv, () => {
      const pair = comparable(c.req.param("a"), c.req.param("b"));
      if (!pair) return null;
      const cmp = compareResults(pair.a, pair.b);
      return toCsv(
        ["region", "n", "mae_a", "mae_b", "diff", "ci_low", "ci_high", "p"],
        REGION_KEYS.map((r) => {
          const x = cmp.regions[r];
          return [r, x.n, x.maeA, x.maeB, x.diff, x.ci?.[0] ?? null, x.ci?.[1] ?? null, x.p];
        }),
      );
    }));
  app.get("/compare/:a/:b/gain.svg", (c) =>
    cached(c, TYPES.svg, () => {
      const pair = comparable(c.req.param("a"), c.req.param("b"));
      return pair && gainFigure(compareResults(pair.a, pair.b), pair.a.dataset.label.unit);
    }));

  // The API.
  app.post(
    "/api/submissions",
    async (c, next) => {
      const token = authenticate(c);
      const retryAfter = limiter.take(String(token.id));
      if (retryAfter !== null) {
        throw new ApiError(
          429,
          `rate limit: at most ${limits.ratePerWindow} submissions per token per ${
            Math.round(limits.rateWindowMs / 1000)
          } s; retry in ${retryAfter} s`,
          { "Retry-After": String(retryAfter) },
        );
      }
      c.set("token", token);
      await next();
    },
    bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: () => {
        throw new ApiError(413, `body: larger than the limit of ${limits.maxBodyBytes} bytes`);
      },
    }),
    async (c) => {
      const body = await jsonBody(c);
      const submission = parseSubmission(body, datasets, limits.fields);
      const result = await scoreSubmission(submission, {
        ...options.provenance,
        date: new Date().toISOString(),
      });
      // A result that takes the lead needs every result of its table compared with it: computed first, in
      // slices between other requests, so that the write itself only stores them.
      await store.prepareComparisons([result]);
      const [inserted] = store.insertResults([result], { tokenId: c.get("token").id });
      const stored = inserted.created ? result.results! : store.results(inserted.id)!;
      const answer = {
        id: inserted.id,
        metrics: stored.metrics,
        url: `/results/${inserted.id}/`,
        ...(inserted.created ? {} : { duplicate: true }),
        flags: inserted.created ? result.row.flags : store.row(inserted.id)!.flags,
      };
      return c.json(answer, inserted.created ? 201 : 200);
    },
  );

  app.post("/api/submissions/:id/hide", async (c) => {
    const token = authenticate(c);
    if (!token.admin) throw new ApiError(403, "authorization: hiding a submission needs an admin token");
    const raw = c.req.header("content-length") === "0" ? "" : await c.req.text();
    let hidden = true;
    if (raw.trim() !== "") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new ApiError(400, `body: not valid JSON; send {"hidden": true|false} or nothing`);
      }
      const h = (parsed as { hidden?: unknown } | null)?.hidden;
      if (typeof h !== "boolean") throw new ApiError(400, `hidden: must be true or false`);
      hidden = h;
    }
    const id = c.req.param("id");
    if (!store.row(id)) throw new ApiError(404, `id: no stored result ${JSON.stringify(id.slice(0, 100))}`);
    store.setHidden(id, hidden);
    return c.json({ id, hidden });
  });

  return app as unknown as Hono;
}
