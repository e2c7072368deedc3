/**
 * The static export: every page, download and figure the server would answer, requested from the app
 * itself and written as files (`…/` becomes `…/index.html`). Pages link relatively, so the site works under
 * any path on any static host. Compare pages are exported for every ranked result against its table's
 * leader; a result's gain figure against its default baseline.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { exists } from "../bench/core/fs.ts";
import type { PreparedDataset } from "../datasets/format.ts";
import type { createApp } from "./app.ts";
import type { Store } from "./store.ts";
import { createViews } from "./views.ts";

/** Every path of the site, from the store's visible results. */
export function sitePaths(store: Store, datasets: ReadonlyMap<string, PreparedDataset>): string[] {
  const views = createViews(store, datasets);
  const paths = ["/", "/submit/", "/static/leaderboard.css", "/static/leaderboard.js", "/static/favicon.svg"];
  for (const summary of views.datasets()) {
    const id = encodeURIComponent(summary.id);
    paths.push(
      `/datasets/${id}/`,
      `/datasets/${id}/all/`,
      `/datasets/${id}/results.json`,
      `/datasets/${id}/results.csv`,
      `/api/datasets/${id}/results`,
    );
    for (const table of views.dataset(summary.id)!.tables) {
      const leader = table.rows.find((r) => r.leader)?.row;
      for (const { row, rank } of table.rows) {
        const rid = encodeURIComponent(row.id);
        paths.push(`/results/${rid}/`, `/results/${rid}/results.json`, `/results/${rid}/results.csv`);
        if (row.status === "reported" || !store.results(row.id)) continue;
        paths.push(`/results/${rid}/abs-error.svg`, `/results/${rid}/bin-mae.svg`);
        const baseline = views.defaultBaseline(row);
        if (baseline) paths.push(`/results/${rid}/gain/${encodeURIComponent(baseline.id)}.svg`);
        if (leader && rank !== null && leader.id !== row.id) {
          const c = `/compare/${encodeURIComponent(leader.id)}/${rid}/`;
          paths.push(c, `${c}compare.json`, `${c}compare.csv`, `${c}gain.svg`);
        }
      }
    }
  }
  return paths;
}

/**
 * Writes the site into `out`, which must not exist or be empty. Files are written into a temporary
 * sibling directory that is renamed into place at the end, so a failed export leaves nothing behind.
 * Returns the number of files written.
 */
export async function exportSite(
  app: ReturnType<typeof createApp>,
  store: Store,
  datasets: ReadonlyMap<string, PreparedDataset>,
  out: string,
): Promise<number> {
  if (await exists(out)) {
    const entries = [];
    for await (const e of Deno.readDir(out)) entries.push(e);
    if (entries.length > 0) {
      throw new InputError("already exists and is not empty; give a new directory", { file: out });
    }
    await Deno.remove(out);
  }
  const tmp = `${out.replace(/[\\/]+$/, "")}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const paths = sitePaths(store, datasets);
    for (const path of paths) {
      const res = await app.request(path);
      if (res.status !== 200) throw new Error(`export: ${path} answered ${res.status}`);
      const file = join(
        tmp,
        ...decodeURIComponent(path.endsWith("/") ? `${path}index.html` : path).split("/"),
      );
      await Deno.mkdir(dirname(file), { recursive: true });
      await Deno.writeFile(file, new Uint8Array(await res.arrayBuffer()));
    }
    await Deno.rename(tmp, out);
    return paths.length;
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}
