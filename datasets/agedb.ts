/**
 * `agedb-dir`: AgeDB-DIR (Yang et al., ICML 2021). Face photos labelled with age; the official DIR split
 * file gives 12,208 training and 2,140 test images (its val split is not used, as in the paper).
 *
 * The AgeDB images cannot be downloaded automatically: the authors hand out a password-protected zip on
 * request. `fetch` downloads the pinned split file and imports the images from `--from` (the zip, once
 * decrypted, or the extracted folder) into the cache. Images are matched to split rows by the numeric id
 * prefix of the file name, because 131 names in the split file are garbled (see the protocol lines).
 *
 * @module
 */

import { basename, join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import type { DatasetAdapter, DroppedSample, FetchContext, LoadContext, RawSample } from "./adapter.ts";
import { archiveKind, extractArchive, walkArchive } from "./archive.ts";
import { AGEDB_SPLIT, DIR_SPLITS_COMMIT, fetchSplitFile, resolveSplitFile } from "./dir_split.ts";
import { type RemoteFile } from "./fetch.ts";
import { isDir } from "../bench/core/fs.ts";

/** Registry id. */
export const AGEDB_ID = "agedb-dir";

/** Where the AgeDB images are requested (by hand, from the dataset's authors). */
export const AGEDB_REQUEST_URL = "https://ibug.doc.ic.ac.uk/resources/agedb/";

/** Official split sizes used (val, also 2,140, is not used). */
export const AGEDB_COUNTS = { train: 12_208, test: 2_140 } as const;

/** Where `fetch` imports the images: `<cache>/agedb-dir/images` (holding `AgeDB/<id>_*.jpg`). */
export function agedbImagesDir(cache: string): string {
  return join(cache, AGEDB_ID, "images");
}

/** An AgeDB file name `<id>_<Name>_<age>_<m|f>.jpg`, taken apart; null if it has no numeric id prefix. */
export function parseAgedbName(name: string): { id: number; age?: number } | null {
  const file = basename(name);
  const id = /^(\d+)_/.exec(file);
  if (!id) return null;
  const age = /_(\d+)_[mfMF]\.jpe?g$/i.exec(file);
  return { id: Number(id[1]), age: age ? Number(age[1]) : undefined };
}

/** Whether an archive entry is an AgeDB image (`<id>_….jpg` at any depth; macOS `._` files excluded). */
export function isAgedbImage(path: string): boolean {
  return /^\d+_[^/]*\.jpe?g$/i.test(basename(path));
}

/** One indexed image file. */
export interface AgedbImage {
  /** Absolute path. */
  path: string;
  /** Age written in the file name, if it follows the AgeDB pattern. */
  age?: number;
}

/**
 * Indexes the AgeDB images under a directory by numeric id. Where an id occurs twice, the first path in
 * sorted order wins and the duplicates are counted.
 */
export async function indexAgedbImages(
  root: string,
): Promise<{ images: Map<number, AgedbImage>; duplicates: number }> {
  const images = new Map<number, AgedbImage>();
  let duplicates = 0;
  for await (const entry of walkArchive(root)) {
    if (!isAgedbImage(entry.path)) continue;
    const parsed = parseAgedbName(entry.path)!;
    if (images.has(parsed.id)) {
      duplicates++;
      continue;
    }
    images.set(parsed.id, { path: join(root, ...entry.path.split("/")), age: parsed.age });
  }
  return { images, duplicates };
}

/**
 * Imports AgeDB images from a zip, tar or directory into the cache (only `<id>_*.jpg` files), unless they
 * are already there. Returns the directory that holds them.
 */
export async function importAgedbImages(
  from: string,
  cache: string,
  options: { quiet?: boolean; log: (message: string) => void },
): Promise<string> {
  const dest = agedbImagesDir(cache);
  if (await isDir(dest)) {
    options.log(`${AGEDB_ID}: images already imported in ${dest} (delete it to import again)`);
    return dest;
  }
  await archiveKind(from); // a missing or unreadable --from fails here, before anything is written
  options.log(`${AGEDB_ID}: importing images from ${from} into ${dest}`);
  const { files } = await extractArchive(from, dest, { filter: isAgedbImage, quiet: options.quiet });
  if (files === 0) {
    await Deno.remove(dest, { recursive: true });
    throw new InputError(
      `no AgeDB images (AgeDB/<id>_<Name>_<age>_<m|f>.jpg) found in it; pass the AgeDB zip or the folder it ` +
        `extracts to`,
      { file: from },
    );
  }
  options.log(`${AGEDB_ID}: imported ${files.toLocaleString("en-US")} images`);
  return dest;
}

function missingImagesError(cache: string): InputError {
  return new InputError(
    `${AGEDB_ID}: the AgeDB images are not in the cache (${
      agedbImagesDir(cache)
    }) and cannot be downloaded ` +
      `automatically. Request AgeDB from its authors at ${AGEDB_REQUEST_URL}; the zip they send is ` +
      `password-protected (the password also comes from the AgeDB authors). Then run ` +
      `\`deno task fetch agedb-dir --from AgeDB.zip\`, or extract it yourself ` +
      `(\`unzip -P <password> AgeDB.zip -d <dir>\`) and run \`deno task fetch agedb-dir --from <dir>\`.`,
  );
}

/** Options of {@linkcode createAgedbAdapter} (tests point them at local fixtures). */
export interface AgedbOptions {
  /** The pinned split file (default: the official one). */
  split?: RemoteFile;
  /** The fetch used to download the split file. */
  fetchImpl?: typeof fetch;
}

/** Creates the `agedb-dir` adapter; the registry uses the default, official one ({@linkcode agedbDir}). */
export function createAgedbAdapter(options: AgedbOptions = {}): DatasetAdapter {
  const spec = options.split ?? AGEDB_SPLIT;
  return {
    id: AGEDB_ID,
    title: "AgeDB-DIR",
    task: "age",
    label: { min: 0, max: 101, unit: "years", binWidth: 1 },
    source:
      `AgeDB (Moschoglou et al., CVPRW 2017; images on request from ${AGEDB_REQUEST_URL}) with the AgeDB-DIR ` +
      `split of Yang et al. (ICML 2021), ${spec.url}`,
    licence:
      "AgeDB is for non-commercial research only, under the terms its authors give with the download; the split " +
      "file is from YyzHarry/imbalanced-regression (MIT)",
    defaultSeed: 0,
    async fetch(ctx: FetchContext) {
      const quiet = ctx.quiet === true;
      // A wrong --from should fail before any download.
      if (ctx.from) await archiveKind(ctx.from);
      const split = await fetchSplitFile(spec, AGEDB_ID, ctx.cache, { quiet, fetchImpl: options.fetchImpl });
      ctx.log(`${AGEDB_ID}: split file ${split} (verified)`);
      if (ctx.from) {
        await importAgedbImages(ctx.from, ctx.cache, { quiet, log: ctx.log });
      } else if (await isDir(agedbImagesDir(ctx.cache))) {
        ctx.log(`${AGEDB_ID}: images already imported in ${agedbImagesDir(ctx.cache)}`);
      } else {
        throw missingImagesError(ctx.cache);
      }
    },
    load: (ctx) => loadAgedb(ctx, spec),
  };
}

/** The `agedb-dir` adapter, with the official pinned split file. */
export const agedbDir: DatasetAdapter = createAgedbAdapter();

async function loadAgedb(ctx: LoadContext, spec: RemoteFile) {
  if (ctx.sizes.train !== undefined || ctx.sizes.test !== undefined) {
    throw new InputError(
      `${AGEDB_ID} uses the official split (${AGEDB_COUNTS.train} train, ${AGEDB_COUNTS.test} test); ` +
        `--train and --test do not apply`,
    );
  }
  const split = await resolveSplitFile(spec, AGEDB_ID, ctx);
  const root = await imagesRoot(ctx);
  const { images, duplicates } = await indexAgedbImages(root);
  if (images.size === 0) {
    throw new InputError(`no AgeDB images (<id>_<Name>_<age>_<m|f>.jpg) found under it`, { file: root });
  }
  ctx.log(
    `${AGEDB_ID}: ${images.size.toLocaleString("en-US")} images indexed under ${root}` +
      (duplicates ? ` (${duplicates} duplicate ids ignored)` : ""),
  );

  const train: RawSample[] = [], test: RawSample[] = [], dropped: DroppedSample[] = [];
  let val = 0;
  for (const row of split.rows) {
    if (row.split === "val") {
      val++;
      continue;
    }
    const parsed = parseAgedbName(row.path);
    if (!parsed) {
      throw new InputError(`path ${JSON.stringify(row.path)} has no numeric id prefix "<id>_"`, {
        file: split.path,
        line: row.line,
      });
    }
    const id = `agedb-${parsed.id}`;
    const image = images.get(parsed.id);
    if (!image) {
      dropped.push({
        id,
        split: row.split,
        reason: "image missing (no AgeDB file with this id)",
      });
      continue;
    }
    if (image.age !== undefined && image.age !== row.age) {
      dropped.push({
        id,
        split: row.split,
        reason: "the age in the image file name differs from the split file's",
      });
      continue;
    }
    const sample: RawSample = {
      id,
      label: row.age,
      image: { path: image.path },
      meta: { sourcePath: row.path },
    };
    (row.split === "train" ? train : test).push(sample);
  }

  const n = (x: number) => x.toLocaleString("en-US");
  const counts = { train: 0, test: 0 };
  for (const r of split.rows) if (r.split !== "val") counts[r.split]++;
  const rowCounts = `${n(counts.train)} train, ${n(val)} val, ${n(counts.test)} test rows`;
  const source = `YyzHarry/imbalanced-regression at commit ${DIR_SPLITS_COMMIT.slice(0, 7)} (git blob ` +
    `${split.gitBlobSha1.slice(0, 10)}…, SHA-256 ${split.sha256.slice(0, 12)}…)`;
  // No absolute paths in the card: it describes the dataset, not the machine that prepared it.
  const origin = !ctx.from
    ? "the fetch cache"
    : root === ctx.from
    ? "the --from folder"
    : "the --from archive";
  return {
    train,
    test,
    dropped,
    inputs: [{ name: spec.name, sha256: split.sha256, gitBlobSha1: split.gitBlobSha1 }],
    protocol: [
      `Split: the official AgeDB-DIR split file \`${spec.name}\` (Yang et al., ICML 2021) from ${source}: ` +
      `${rowCounts}. Its val and test sets were drawn per age (0-120) with Python \`random.seed(666)\`: ` +
      "⌊n/3⌋ images of the age, at most 30, to each of val and test, the rest to train.",
      "Train = the split file's `train` rows, test = its `test` rows; the `val` rows are not used, as in the " +
      "paper.",
      "Labels are the `age` column (whole years). Images are matched to rows by the numeric id prefix `<id>_` " +
      "of the file name, not by the full name: 131 names in the split file are garbled (the authors' unzip " +
      "decoded the zip's CP437 names as CP866, e.g. `StВphaneAudran` for `StéphaneAudran`), and other " +
      "machines decode them differently again.",
      `Images came from ${origin} (${n(images.size)} AgeDB files found). A row whose image is missing, or ` +
      "whose image file name carries a different age, is dropped and listed in dropped.json.",
    ],
  };
}

/** The directory holding the images: `--from` itself when it is a directory, else the cache (importing an archive first). */
async function imagesRoot(ctx: LoadContext): Promise<string> {
  if (ctx.from) {
    if ((await archiveKind(ctx.from)) === "dir") return ctx.from;
    return await importAgedbImages(ctx.from, ctx.cache, { quiet: ctx.quiet === true, log: ctx.log });
  }
  const dir = agedbImagesDir(ctx.cache);
  if (!(await isDir(dir))) throw missingImagesError(ctx.cache);
  return dir;
}
