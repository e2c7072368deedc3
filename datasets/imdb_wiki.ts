/**
 * `imdb-wiki-dir`: IMDB-WIKI-DIR (Yang et al., ICML 2021). Face crops from IMDb and Wikipedia labelled
 * with age. Test is the official DIR test split (11,022 rows); train is the official train split
 * (191,509 rows) downsampled to 81,911 by a seeded per-age draw that keeps the histogram's shape.
 *
 * The raw images are two public tars from ETH Zürich (`imdb_crop.tar`, about 7 GB, and `wiki_crop.tar`,
 * about 0.8 GB), pinned by MD5. `fetch` downloads and extracts them into the cache, laid out as the
 * split file's paths expect: `<cache>/imdb-wiki-dir/{imdb_crop,wiki_crop}/<NN>/*.jpg`.
 *
 * @module
 */

import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { seededRng } from "../bench/core/rng.ts";
import type { DatasetAdapter, DroppedSample, FetchContext, LoadContext, RawSample } from "./adapter.ts";
import { extractArchive } from "./archive.ts";
import {
  DIR_SPLITS_COMMIT,
  type DirSplitRow,
  fetchSplitFile,
  IMDB_WIKI_SPLIT,
  resolveSplitFile,
} from "./dir_split.ts";
import { downloadFile, hashFile, type RemoteFile } from "./fetch.ts";
import { isDir, isFile } from "../bench/core/fs.ts";

/** Registry id. */
export const IMDB_WIKI_ID = "imdb-wiki-dir";

/** The training size after downsampling, as in the paper. */
export const IMDB_WIKI_TRAIN_SIZE = 81_911;

/** The two image collections, named as the top-level folders of their tars and in the split file. */
export type ImdbWikiPart = "imdb_crop" | "wiki_crop";

/** The parts, in the split file's order. */
export const IMDB_WIKI_PARTS: readonly ImdbWikiPart[] = ["imdb_crop", "wiki_crop"];

const STATIC = "https://data.vision.ee.ethz.ch/cvl/rrothe/imdb-wiki/static";

/** The raw tars, pinned by MD5 (their sizes are not published exactly, so not pinned). */
export const IMDB_WIKI_TARS: Readonly<Record<ImdbWikiPart, RemoteFile>> = {
  imdb_crop: {
    name: "imdb_crop.tar",
    url: `${STATIC}/imdb_crop.tar`,
    md5: "44b7548f288c14397cb7a7bab35ebe14",
  },
  wiki_crop: {
    name: "wiki_crop.tar",
    url: `${STATIC}/wiki_crop.tar`,
    md5: "f536eb7f5eae229ae8f286184364b42b",
  },
};

/** The dataset's cache directory, `<cache>/imdb-wiki-dir`, which receives `imdb_crop/` and `wiki_crop/`. */
export function imdbWikiCacheDir(cache: string): string {
  return join(cache, IMDB_WIKI_ID);
}

/**
 * Splits `total` over bins in proportion to `counts`, keeping at least one in every non-empty bin and
 * never more than a bin holds; the total is exact.
 *
 * Each non-empty bin starts at the floor of its proportional share `total × count / sum`, or at 1 where
 * that share is below 1; the units left go one each to the bins with the largest fractional parts (ties
 * to the lower bin) among those whose share is at least 1. Every bin then ends within 1 of its share.
 *
 * That is impossible when the minimums cost more than rounding down frees (many bins with a share below
 * 1). Then the bins held at 1 are taken out and the others' shares recomputed from the budget left
 * (`k × count`, one factor `k` for all), repeating until no share is below 1, and the same floor and
 * largest-remainder rounding applies: every bin ends within 1 of `k × count`.
 */
export function allocateWithMinimum(counts: readonly number[], total: number): number[] {
  const nonEmpty = counts.flatMap((c, i) => (c > 0 ? [i] : []));
  const sum = counts.reduce((a, b) => a + b, 0);
  if (!Number.isInteger(total) || total < nonEmpty.length || total > sum) {
    throw new RangeError(
      `cannot draw ${total} from ${sum} samples in ${nonEmpty.length} bins keeping one per bin`,
    );
  }
  const direct = roundShares(counts, counts.map((c) => (total * c) / sum), total);
  if (direct) return direct;
  const atMinimum = new Set<number>();
  let budget = total, mass = sum;
  for (let changed = true; changed;) {
    changed = false;
    for (const i of nonEmpty) {
      if (!atMinimum.has(i) && (budget * counts[i]) / mass < 1) {
        atMinimum.add(i);
        changed = true;
      }
    }
    budget = total - atMinimum.size;
    mass = sum - [...atMinimum].reduce((a, i) => a + counts[i], 0);
  }
  // Shares of the bins above the minimum only shrink in this loop, so none drops below 1 in rounding.
  return roundShares(counts, counts.map((c, i) => (atMinimum.has(i) ? 1 : (budget * c) / mass)), total)!;
}

/** Floors (at least 1) plus largest remainder; null when the floors already exceed `total`. */
function roundShares(counts: readonly number[], share: readonly number[], total: number): number[] | null {
  const out = counts.map((c, i) => (c === 0 ? 0 : Math.max(1, Math.floor(share[i]))));
  let left = total - out.reduce((a, b) => a + b, 0);
  if (left < 0) return null;
  const order = counts.flatMap((c, i) => (c > 0 && share[i] >= 1 ? [i] : []))
    .map((i) => ({ i, rem: share[i] - Math.floor(share[i]) }))
    .sort((a, b) => b.rem - a.rem || a.i - b.i);
  // left < the number of bins with a fractional part, so no bin gets more than one extra unit.
  for (let k = 0; left > 0; k++, left--) out[order[k].i]++;
  return out;
}

/**
 * Draws `total` rows so that every bin (by `binOf`) keeps {@linkcode allocateWithMinimum}'s count: within
 * each bin, in ascending bin order, a seeded partial Fisher-Yates shuffle over the bin's rows in input
 * order picks them. Returns the chosen rows in input order. Same rows, total and seed: same result.
 */
export function downsampleByBin<T>(
  rows: readonly T[],
  binOf: (row: T) => number,
  total: number,
  seed: number,
): T[] {
  const groups = new Map<number, number[]>();
  rows.forEach((row, i) => {
    const b = binOf(row);
    const g = groups.get(b);
    if (g) g.push(i);
    else groups.set(b, [i]);
  });
  const bins = [...groups.keys()].sort((a, b) => a - b);
  const alloc = allocateWithMinimum(bins.map((b) => groups.get(b)!.length), total);
  const rng = seededRng(seed);
  const chosen: number[] = [];
  bins.forEach((b, k) => {
    const idx = groups.get(b)!;
    for (let j = 0; j < alloc[k]; j++) {
      const r = j + Math.floor(rng() * (idx.length - j));
      [idx[j], idx[r]] = [idx[r], idx[j]];
      chosen.push(idx[j]);
    }
  });
  return chosen.sort((a, b) => a - b).map((i) => rows[i]);
}

/** A path-safe sample id from a split-file path: `imdb_crop/01/nm..._1968.jpg` → `imdb-01-nm..._1968`. */
export function imdbWikiSampleId(path: string): string {
  const stem = path.replace(/\.[^./]*$/, "").replace(/^(imdb|wiki)_crop\//, "$1/");
  return stem.split("/").join("-").replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Options of {@linkcode createImdbWikiAdapter} (tests point them at local fixtures). */
export interface ImdbWikiOptions {
  /** The pinned split file (default: the official one). */
  split?: RemoteFile;
  /** The pinned tars (default: the official ones). */
  tars?: Readonly<Record<ImdbWikiPart, RemoteFile>>;
  /** The fetch used for downloads. */
  fetchImpl?: typeof fetch;
}

/** Creates the `imdb-wiki-dir` adapter; the registry uses the default, official one ({@linkcode imdbWikiDir}). */
export function createImdbWikiAdapter(options: ImdbWikiOptions = {}): DatasetAdapter {
  const spec = options.split ?? IMDB_WIKI_SPLIT;
  const tars = options.tars ?? IMDB_WIKI_TARS;
  return {
    id: IMDB_WIKI_ID,
    title: "IMDB-WIKI-DIR",
    task: "age",
    label: { min: 0, max: 200, unit: "years" },
    source:
      `IMDB-WIKI (Rothe, Timofte and Van Gool; ${STATIC}/) with the IMDB-WIKI-DIR split of Yang et al. ` +
      `(ICML 2021), ${spec.url}`,
    licence: "IMDB-WIKI is for research purposes only (ETH Zürich's terms); the split file is from " +
      "YyzHarry/imbalanced-regression (MIT)",
    defaultSeed: 0,
    async fetch(ctx: FetchContext) {
      const quiet = ctx.quiet === true;
      if (ctx.from) await requireFromDir(ctx.from);
      const split = await fetchSplitFile(spec, IMDB_WIKI_ID, ctx.cache, {
        quiet,
        fetchImpl: options.fetchImpl,
      });
      ctx.log(`${IMDB_WIKI_ID}: split file ${split} (verified)`);
      const dir = imdbWikiCacheDir(ctx.cache);
      for (const part of IMDB_WIKI_PARTS) {
        if (await isDir(join(dir, part))) {
          ctx.log(`${IMDB_WIKI_ID}: ${part}/ already in ${dir}`);
          continue;
        }
        if (ctx.from) {
          await importPart(ctx.from, part, tars[part], ctx.cache, { quiet, log: ctx.log });
          continue;
        }
        const tarPath = join(dir, tars[part].name);
        // About 7 GB and 0.8 GB: resumable, and deleted once extracted.
        ctx.log(
          `${IMDB_WIKI_ID}: downloading ${tars[part].url} (${
            part === "imdb_crop" ? "about 7 GB" : "about 0.8 GB"
          })`,
        );
        await downloadFile(tars[part], tarPath, { quiet, fetchImpl: options.fetchImpl });
        await extractPart(tarPath, part, ctx.cache, { quiet, log: ctx.log });
        // The extracted tree is what prepare reads; keeping the tar too would double the disk use.
        await Deno.remove(tarPath);
      }
    },
    load: (ctx) => loadImdbWiki(ctx, spec, tars),
  };
}

/** The `imdb-wiki-dir` adapter, with the official pinned split file and tars. */
export const imdbWikiDir: DatasetAdapter = createImdbWikiAdapter();

/** `--from` must be a directory: the two parts are separate archives, so one archive cannot stand for both. */
async function requireFromDir(from: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(from);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new InputError("not found", { file: from });
    throw err;
  }
  if (!info.isDirectory) {
    throw new InputError(
      "--from must be a directory holding imdb_crop/ and wiki_crop/ (or imdb_crop.tar and wiki_crop.tar)",
      { file: from },
    );
  }
}

/** Imports one part from `<from>/<part>/` (copied) or `<from>/<part>.tar` (MD5-checked, extracted). */
async function importPart(
  from: string,
  part: ImdbWikiPart,
  tar: RemoteFile,
  cache: string,
  options: { quiet?: boolean; log: (message: string) => void },
): Promise<void> {
  const dest = join(imdbWikiCacheDir(cache), part);
  if (await isDir(join(from, part))) {
    options.log(`${IMDB_WIKI_ID}: copying ${join(from, part)} into ${dest}`);
    const { files } = await extractArchive(join(from, part), dest, { filter: isJpeg, quiet: options.quiet });
    if (files === 0) {
      await Deno.remove(dest, { recursive: true });
      throw new InputError(`no .jpg images found in it`, { file: join(from, part) });
    }
    return;
  }
  const tarPath = join(from, tar.name);
  if (!(await isFile(tarPath))) {
    throw new InputError(`neither ${part}/ nor ${tar.name} is in this --from directory`, { file: from });
  }
  if (tar.md5) {
    options.log(`${IMDB_WIKI_ID}: checking the MD5 of ${tarPath}`);
    const { md5 } = await hashFile(tarPath, { md5: true });
    if (md5 !== tar.md5) {
      throw new InputError(
        `is not the official ${tar.name} (MD5 ${md5}, expected ${tar.md5}); download it again, or extract it ` +
          `and pass the folder holding ${part}/`,
        { file: tarPath },
      );
    }
  }
  await extractPart(tarPath, part, cache, options);
}

/** Extracts `<part>/**.jpg` of a tar into `<cache>/imdb-wiki-dir/<part>/`, atomically. */
async function extractPart(
  tarPath: string,
  part: ImdbWikiPart,
  cache: string,
  options: { quiet?: boolean; log: (message: string) => void },
): Promise<void> {
  const dir = imdbWikiCacheDir(cache);
  const staging = join(dir, `.import-${part}`);
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  options.log(`${IMDB_WIKI_ID}: extracting ${tarPath}`);
  const { files } = await extractArchive(tarPath, staging, {
    filter: (p) => p.startsWith(`${part}/`) && isJpeg(p),
    quiet: options.quiet,
  });
  try {
    if (files === 0) throw new InputError(`holds no ${part}/**.jpg images`, { file: tarPath });
    await Deno.rename(join(staging, part), join(dir, part));
    options.log(`${IMDB_WIKI_ID}: ${files.toLocaleString("en-US")} images in ${join(dir, part)}`);
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** The directory holding `<part>/` for each part: `--from` (importing tars found there), else the cache. */
async function partRoots(ctx: LoadContext, tars: Readonly<Record<ImdbWikiPart, RemoteFile>>) {
  const roots = {} as Record<ImdbWikiPart, string>;
  const cacheDir = imdbWikiCacheDir(ctx.cache);
  if (ctx.from) await requireFromDir(ctx.from);
  for (const part of IMDB_WIKI_PARTS) {
    if (ctx.from && (await isDir(join(ctx.from, part)))) roots[part] = ctx.from;
    else if (await isDir(join(cacheDir, part))) roots[part] = cacheDir;
    else if (ctx.from) {
      await importPart(ctx.from, part, tars[part], ctx.cache, { quiet: ctx.quiet === true, log: ctx.log });
      roots[part] = cacheDir;
    } else {
      throw new InputError(
        `${IMDB_WIKI_ID}: ${part}/ is not in the cache (${cacheDir}); run \`deno task fetch ${IMDB_WIKI_ID}\` ` +
          `(downloads about 8 GB), or pass --from <dir> holding imdb_crop/ and wiki_crop/ (or their tars)`,
      );
    }
  }
  return roots;
}

async function loadImdbWiki(
  ctx: LoadContext,
  spec: RemoteFile,
  tars: Readonly<Record<ImdbWikiPart, RemoteFile>>,
) {
  if (ctx.sizes.test !== undefined) {
    throw new InputError(`${IMDB_WIKI_ID}'s test set is the official DIR test split; --test does not apply`);
  }
  const split = await resolveSplitFile(spec, IMDB_WIKI_ID, ctx);
  for (const row of split.rows) {
    if (!/^(imdb|wiki)_crop\//.test(row.path)) {
      throw new InputError(`path ${JSON.stringify(row.path)} is not under imdb_crop/ or wiki_crop/`, {
        file: split.path,
        line: row.line,
      });
    }
    if (row.age > 200) {
      throw new InputError(`age ${row.age} is outside 0-200`, { file: split.path, line: row.line });
    }
  }
  const allTrain = split.rows.filter((r) => r.split === "train");
  const testRows = split.rows.filter((r) => r.split === "test");
  const val = split.rows.length - allTrain.length - testRows.length;
  const size = ctx.sizes.train ?? IMDB_WIKI_TRAIN_SIZE;
  const ages = new Set(allTrain.map((r) => r.age)).size;
  if (size > allTrain.length || size < ages) {
    throw new InputError(
      `--train must be between ${ages} (one per training age) and ${allTrain.length} (the whole train split), ` +
        `got ${size}`,
    );
  }
  const trainRows = downsampleByBin(allTrain, (r) => r.age, size, ctx.seed);
  const roots = await partRoots(ctx, tars);

  const dropped: DroppedSample[] = [];
  const seen = new Set<string>();
  const toSamples = async (rows: readonly DirSplitRow[], which: "train" | "test") => {
    const candidates: { row: DirSplitRow; id: string; path: string }[] = [];
    for (const row of rows) {
      const id = imdbWikiSampleId(row.path);
      if (seen.has(id)) {
        dropped.push({ id, split: which, reason: "duplicate path in the split file" });
        continue;
      }
      seen.add(id);
      const part = row.path.slice(0, row.path.indexOf("/")) as ImdbWikiPart;
      candidates.push({ row, id, path: join(roots[part], ...row.path.split("/")) });
    }
    const sizes = await statAll(candidates.map((c) => c.path));
    const out: RawSample[] = [];
    candidates.forEach((c, k) => {
      if (sizes[k] === null) {
        dropped.push({ id: c.id, split: which, reason: "image missing" });
      } else if (sizes[k] === 0) {
        dropped.push({ id: c.id, split: which, reason: "empty image file" });
      } else {
        out.push({ id: c.id, label: c.row.age, image: { path: c.path }, meta: { sourcePath: c.row.path } });
      }
    });
    return out;
  };
  const train = await toSamples(trainRows, "train");
  const test = await toSamples(testRows, "test");

  const n = (x: number) => x.toLocaleString("en-US");
  const rowCounts = `${n(allTrain.length)} train, ${n(val)} val, ${n(testRows.length)} test rows`;
  const source = `YyzHarry/imbalanced-regression at commit ${DIR_SPLITS_COMMIT.slice(0, 7)} (git blob ` +
    `${split.gitBlobSha1.slice(0, 10)}…)`;
  const target = n(size);
  const share = `${target} × count / ${n(allTrain.length)}`;
  return {
    train,
    test,
    dropped,
    inputs: [{ name: spec.name, sha256: split.sha256, gitBlobSha1: split.gitBlobSha1 }],
    protocol: [
      `Split: the official IMDB-WIKI-DIR split file \`${spec.name}\` (Yang et al., ICML 2021) from ${source}: ` +
      `${rowCounts}. Its val and test sets were drawn per age (0-120) with Python \`random.seed(666)\`: ` +
      "⌊n/3⌋ images of the age, at most 150, to each of val and test, the rest to train.",
      `Test = the split file's ${n(testRows.length)} \`test\` rows, less those whose image is missing, ` +
      "empty or undecodable, which are dropped and listed in dropped.json (the paper reports 11,016 test " +
      "images of the split's 11,022 without naming the six left out). The `val` rows are not used.",
      `Train = the split file's \`train\` rows downsampled to ${target} with seed ${ctx.seed}, keeping the ` +
      `shape of the age histogram: each age gets the floor of its proportional share (${share}), or 1 ` +
      "where that share is below 1, so every age with training rows keeps at least one; the units left go " +
      "one each to the ages with the largest fractional parts (ties to the younger age), for an exact " +
      "total, and each age ends within 1 of its share. Should the minimums cost more than rounding down " +
      "frees, the ages held at 1 are set aside and the others' shares recomputed from the budget left (one " +
      "common factor, repeated until no share is below 1) before the same rounding.",
      "Within each age, in ascending age order, the rows are picked by a partial Fisher-Yates shuffle of the " +
      "age's rows in file order, driven by dirbench's seeded sfc32 generator (`seededRng(seed)`, one stream " +
      "for all ages); the chosen rows keep file order. The draw depends only on the split file and the " +
      "seed, not on which images are present, so a missing image is dropped rather than replaced.",
      "Labels are the `age` column (whole years: photo year minus birth year, minus one when born in July " +
      "or later, as computed by the authors' create_imdb_wiki.py from the .mat metadata).",
    ],
  };
}

/** Sizes of many files (null where missing), a few dozen stats in flight at once. */
async function statAll(paths: readonly string[]): Promise<(number | null)[]> {
  const out = new Array<number | null>(paths.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const k = next++;
      try {
        const info = await Deno.stat(paths[k]);
        out[k] = info.isFile ? info.size : null;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return out;
}

function isJpeg(path: string): boolean {
  return /\.jpe?g$/i.test(path);
}
