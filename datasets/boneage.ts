/**
 * `boneage-dir`: BoneAge-DIR, the hand radiograph → bone age (months) benchmark of the CCC-GRPO paper, built
 * from the RSNA Pediatric Bone Age Challenge 2017. The labelled official training and validation images
 * are pooled and split by a seeded per-month balanced draw. `fetch` downloads RSNA's public zips (or
 * imports them, an extracted copy, or the Kaggle mirror) and extracts them, nested zips included.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import type {
  AdapterOutput,
  DatasetAdapter,
  DroppedSample,
  FetchContext,
  LoadContext,
  RawSample,
} from "./adapter.ts";
import { archiveKind, extractArchive, walkArchive } from "./archive.ts";
import { downloadFile, type RemoteFile } from "./fetch.ts";
import { balancedTestSplit, parseCsvTable, peakSparseLabels } from "./split_protocols.ts";
import { exists } from "../bench/core/fs.ts";

const S3 = "https://s3.amazonaws.com/east1.public.rsna.org/AI/2017";

/**
 * RSNA's public zips with the labelled images. The sha256 values come from one third-party loader
 * (shared/docs/datasets.md §3); sizes are not pinned. The test set zip is left out: its labels are in an
 * xlsx and the benchmark does not use it.
 */
export const RSNA_FILES: readonly RemoteFile[] = [
  {
    name: "Bone Age Training Set.zip",
    url: `${S3}/Bone+Age+Training+Set.zip`,
    sha256: "9eab917f59bf520b4eb10803d33e7007ea3b3c2bd4df1c55aff45bc339b2736a",
    size: undefined,
  },
  {
    name: "Bone Age Training Set Annotations.zip",
    url: `${S3}/Bone+Age+Training+Set+Annotations.zip`,
    sha256: "f6373249b6ec85d182c62ab83f05fa76dff90ba03315e455dd6de332dffc7215",
    size: undefined,
  },
  {
    name: "Bone Age Validation Set.zip",
    url: `${S3}/Bone+Age+Validation+Set.zip`,
    sha256: "683ea5398dd9d0730af883e673176a5c6817fd35a5a59331a500fa7affcd36f0",
    size: undefined,
  },
];

/** The challenge page, and the Kaggle mirror accepted by `fetch --from`. */
export const BONEAGE_SOURCES = {
  rsna: "https://www.rsna.org/rsnai/ai-image-challenge/rsna-pediatric-bone-age-challenge-2017",
  kaggle: "https://www.kaggle.com/datasets/kmader/rsna-bone-age",
} as const;

/** Label axis: integer months, 0–228 (the largest RSNA training label). */
export const BONEAGE_LABEL = { min: 0, max: 228, unit: "months", binWidth: 1 } as const;

/** The test draw: per month, min(⌊n/2⌋, 30) rows. */
export const BONEAGE_SPLIT = { divisor: 2, cap: 30 } as const;

/** The authors' peak filter settings (reported, not applied; see the protocol). */
export const BONEAGE_PEAK_FILTER = { window: 10, ratio: 0.25, threshold: 100 } as const;

/** Under the cache: `downloads/` (the zips) and `data/` (what prepare reads). */
export const BONEAGE_CACHE_DIR = "boneage-dir";

/** The column layouts of the labelled CSVs. */
const LAYOUTS = [
  // Official train.csv, and the Kaggle mirror's boneage-training-dataset.csv.
  { origin: "train", id: "id", age: "boneage", male: "male" },
  // Official "Validation Dataset.csv".
  { origin: "validation", id: "Image ID", age: "Bone Age (months)", male: "male" },
] as const;

const IMAGE = /^(\d+)\.png$/i;
const NUMBER = /^\d+(\.\d*)?$/;

/** Archive members that are never data: macOS resource forks and their folder. */
function isJunk(path: string): boolean {
  return path.split("/").some((part) => part === "__MACOSX" || part.startsWith("._"));
}

/** The official test set and the Kaggle mirror's unlabelled test set; their images are not used. */
function isTestSet(path: string): boolean {
  return /\btest\b/i.test(path);
}

/** What an import keeps: CSVs, PNGs and zips to open in turn, outside the test set. */
function keep(path: string): boolean {
  return !isJunk(path) && !isTestSet(path) && /\.(png|csv|zip)$/i.test(path);
}

function isArchiveName(path: string): boolean {
  return /\.(zip|tar|tgz|tar\.gz)$/i.test(path);
}

function stripArchiveExt(path: string): string {
  return path.replace(/\.(zip|tar|tgz|tar\.gz)$/i, "");
}

/** Prefers fewer path segments, then the smaller path (code-unit order): deterministic for any walk order. */
function preferred(a: string, b: string): boolean {
  const da = a.split("/").length, db = b.split("/").length;
  return da !== db ? da < db : a < b;
}

/** A fresh directory name next to `path` that does not exist yet. */
async function freshPath(path: string): Promise<string> {
  let candidate = path;
  for (let k = 2; await exists(candidate); k++) candidate = `${path}.${k}`;
  return candidate;
}

/** Options of {@linkcode fetchBoneAge}, for tests and mirrors. */
export interface BoneAgeFetchOptions {
  /** The zips to download (default {@linkcode RSNA_FILES}). */
  files?: readonly RemoteFile[];
  /** Passed to `downloadFile`. */
  fetchImpl?: typeof fetch;
  /** No progress bars. */
  quiet?: boolean;
}

/**
 * Fills `<cache>/boneage-dir/data/`: downloads RSNA's zips into `<cache>/boneage-dir/downloads/` (resumed
 * and hash-checked by `downloadFile`) and extracts them, or imports `ctx.from` (an official zip, a folder
 * holding the zips or their extracted contents, or the Kaggle mirror's zip or folder). Zips found inside
 * (the validation set's `boneage-validation-dataset-{1,2}.zip`) are extracted next to themselves and
 * removed. Only PNGs and CSVs outside the test sets are kept. The previous `data/` is replaced only once
 * the new one is complete.
 */
export async function fetchBoneAge(ctx: FetchContext, options: BoneAgeFetchOptions = {}): Promise<void> {
  const root = join(ctx.cache, BONEAGE_CACHE_DIR);
  const staging = join(root, `.data.import-${crypto.randomUUID().slice(0, 8)}`);
  const quiet = options.quiet;
  try {
    await Deno.mkdir(staging, { recursive: true });
    if (ctx.from) {
      await importSource(resolve(ctx.from), staging, quiet);
    } else {
      const downloads = join(root, "downloads");
      await Deno.mkdir(downloads, { recursive: true });
      for (const file of options.files ?? RSNA_FILES) {
        const dest = join(downloads, file.name);
        ctx.log(`boneage-dir: downloading ${file.url}`);
        const got = await downloadFile(file, dest, { quiet, fetchImpl: options.fetchImpl });
        if (got.skipped) ctx.log(`boneage-dir: ${file.name} already downloaded and verified`);
        await extractArchive(dest, join(staging, stripArchiveExt(file.name)), { filter: keep, quiet });
      }
      ctx.log(`boneage-dir: the zips stay in ${downloads} (delete them to save space once prepared)`);
    }
    const nested = await expandNestedZips(staging, quiet);
    const found = await indexBoneAgeFiles(staging);
    if (found.csvs.length === 0) {
      throw new InputError(
        `no labelled CSV (train.csv, boneage-training-dataset.csv or "Validation Dataset.csv") found in it.\n` +
          fetchHelp(),
        { file: ctx.from ?? root },
      );
    }
    const target = join(root, "data");
    if (await exists(target)) {
      const old = `${staging}.old`;
      await Deno.rename(target, old);
      await Deno.rename(staging, target);
      await Deno.remove(old, { recursive: true });
    } else {
      await Deno.rename(staging, target);
    }
    ctx.log(
      `boneage-dir: ${found.images.size} images and ${found.csvs.length} CSVs ` +
        `(${found.csvs.join(", ")})${nested ? `, ${nested} nested zips opened` : ""} in ${target}`,
    );
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** Imports one `--from` path into `staging`: an archive is extracted, a folder copied (its archives extracted). */
async function importSource(from: string, staging: string, quiet?: boolean): Promise<void> {
  if (await archiveKind(from) !== "dir") {
    await extractArchive(from, join(staging, stripArchiveExt(basename(from))), { filter: keep, quiet });
    return;
  }
  for await (const entry of walkArchive(from)) {
    if (isJunk(entry.path) || isTestSet(entry.path)) continue;
    const source = join(from, ...entry.path.split("/"));
    const target = join(staging, ...entry.path.split("/"));
    if (isArchiveName(entry.path)) {
      // Extract straight from the user's folder rather than copying a multi-GB zip first.
      await extractArchive(source, await freshPath(stripArchiveExt(target)), { filter: keep, quiet });
    } else if (/\.(png|csv)$/i.test(entry.path)) {
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.copyFile(source, target);
    }
  }
}

/** Extracts zips inside `dir` next to themselves and removes them, three levels deep at most. */
async function expandNestedZips(dir: string, quiet?: boolean): Promise<number> {
  let opened = 0;
  for (let depth = 0; depth < 3; depth++) {
    const zips: string[] = [];
    for await (const entry of walkArchive(dir)) {
      if (/\.zip$/i.test(entry.path)) zips.push(join(dir, ...entry.path.split("/")));
    }
    if (zips.length === 0) break;
    for (const zip of zips) {
      await extractArchive(zip, await freshPath(stripArchiveExt(zip)), { filter: keep, quiet });
      await Deno.remove(zip);
      opened++;
    }
  }
  return opened;
}

/** The labelled CSVs and images of a folder, by relative path. */
export interface BoneAgeIndex {
  /** CSV files outside the test sets, in path order. */
  csvs: string[];
  /** Image id → relative paths of the `<id>.png` files, preferred first (fewest segments, then smallest). */
  images: Map<string, string[]>;
  /** PNG files beyond the first per id. */
  duplicateImages: number;
}

/**
 * Finds CSVs and `<id>.png` images at any depth of a folder, skipping the test sets (any path with the
 * word "test") and macOS junk. See {@linkcode pickImage} for which of several same-id PNGs a row uses.
 */
export async function indexBoneAgeFiles(root: string): Promise<BoneAgeIndex> {
  const index: BoneAgeIndex = { csvs: [], images: new Map(), duplicateImages: 0 };
  for await (const entry of walkArchive(root)) {
    if (isJunk(entry.path) || isTestSet(entry.path)) continue;
    if (/\.csv$/i.test(entry.path)) {
      index.csvs.push(entry.path);
      continue;
    }
    const image = IMAGE.exec(entry.path.slice(entry.path.lastIndexOf("/") + 1));
    if (!image) continue;
    const id = String(Number(image[1]));
    const had = index.images.get(id);
    if (had) {
      had.push(entry.path);
      index.duplicateImages++;
    } else {
      index.images.set(id, [entry.path]);
    }
  }
  const order = (a: string, b: string) => (preferred(a, b) ? -1 : preferred(b, a) ? 1 : 0);
  index.csvs.sort(order);
  for (const paths of index.images.values()) paths.sort(order);
  return index;
}

/**
 * The image of a CSV row among the PNGs named `<id>.png` (preferred first): those under a path that names
 * the row's set ("train" for training rows, "valid" for validation rows, any case) if there are any, else
 * all; of them, the one with the fewest path segments, then the smallest path. The first rule keeps a row
 * from taking the other set's image should an id occur in both.
 */
export function pickImage(paths: readonly string[], origin: "train" | "validation"): string | undefined {
  const word = origin === "train" ? /train/i : /valid/i;
  return paths.find((p) => word.test(p)) ?? paths[0];
}

function fetchHelp(): string {
  return [
    "Get the labelled RSNA Pediatric Bone Age images in one of these ways:",
    "  deno task fetch boneage-dir                       (downloads RSNA's public zips, about 11 GB)",
    "  deno task fetch boneage-dir --from <path>         (imports what you downloaded yourself)",
    'where <path> is one of RSNA\'s zips ("Bone Age Training Set.zip", "... Annotations.zip",',
    '"Bone Age Validation Set.zip"; from ' + BONEAGE_SOURCES.rsna + "), a folder holding them or their",
    "extracted contents, or the Kaggle mirror " + BONEAGE_SOURCES.kaggle,
    "(a Kaggle account is needed; `kaggle datasets download -d kmader/rsna-bone-age`), as its zip or folder.",
  ].join("\n");
}

/** Where `load` reads: `--from` when it is a folder, else the fetch cache; archives must be fetched first. */
async function dataRoot(ctx: LoadContext): Promise<string> {
  if (ctx.from) {
    const from = resolve(ctx.from);
    if (await archiveKind(from) !== "dir") {
      throw new InputError(
        "prepare reads a folder; import an archive first with " +
          `\`deno task fetch boneage-dir --from ${ctx.from}\`, then run prepare without --from`,
        { file: from },
      );
    }
    return from;
  }
  const root = join(ctx.cache, BONEAGE_CACHE_DIR, "data");
  if (!await exists(root)) {
    throw new InputError(`boneage-dir has not been fetched (no ${root}).\n${fetchHelp()}`);
  }
  return root;
}

function parseMale(text: string, file: string, line: number): boolean {
  const t = text.trim().toLowerCase();
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  throw new InputError(`"male" must be True or False, got ${JSON.stringify(text)}`, { file, line });
}

/** Reads the labelled CSVs and images, pools them and draws the balanced split. */
export async function loadBoneAge(ctx: LoadContext): Promise<AdapterOutput> {
  if (ctx.sizes.train !== undefined || ctx.sizes.test !== undefined) {
    throw new InputError("boneage-dir has a fixed protocol; --train and --test cannot be set");
  }
  if (ctx.split !== undefined) throw new InputError("boneage-dir has no published split file; drop --split");
  const root = await dataRoot(ctx);
  const index = await indexBoneAgeFiles(root);

  const dropped: DroppedSample[] = [];
  const inputs: AdapterOutput["inputs"] = [];
  const pool = new Map<string, RawSample>();
  const used: string[] = [];
  const counts = { train: 0, validation: 0, missing: 0, duplicate: 0, range: 0, nonInteger: 0 };
  for (const rel of index.csvs) {
    const file = join(root, ...rel.split("/"));
    const bytes = await Deno.readFile(file);
    const table = parseCsvTable(new TextDecoder().decode(bytes), file);
    const layout = LAYOUTS.find((l) => [l.id, l.age, l.male].every((c) => table.header.includes(c)));
    if (!layout) {
      ctx.log(`boneage-dir: ignoring ${rel} (columns ${table.header.join(",")} are not a labelled layout)`);
      continue;
    }
    used.push(rel);
    inputs.push({ name: rel, sha256: await sha256Hex(bytes) });
    for (const { line, values } of table.rows) {
      const rawId = values[layout.id].trim();
      if (!/^\d+$/.test(rawId)) {
        throw new InputError(
          `"${layout.id}" must be a whole number, got ${JSON.stringify(values[layout.id])}`,
          {
            file,
            line,
          },
        );
      }
      const ageText = values[layout.age].trim();
      if (!NUMBER.test(ageText)) {
        throw new InputError(
          `"${layout.age}" must be a number of months, got ${JSON.stringify(values[layout.age])}`,
          { file, line },
        );
      }
      const male = parseMale(values[layout.male], file, line);
      const imageId = String(Number(rawId));
      const id = `boneage-${imageId}`;
      const age = Number(ageText);
      // pandas' astype(int), as the authors did: the integer part.
      const label = Math.trunc(age);
      if (label !== age) counts.nonInteger++;
      if (label > BONEAGE_LABEL.max) {
        counts.range++;
        dropped.push({ id, reason: `bone age above ${BONEAGE_LABEL.max} months` });
        continue;
      }
      if (pool.has(id)) {
        counts.duplicate++;
        dropped.push({ id, reason: "duplicate image id (the first CSV row in path order is kept)" });
        continue;
      }
      const image = pickImage(index.images.get(imageId) ?? [], layout.origin);
      if (image === undefined) {
        counts.missing++;
        dropped.push({ id, reason: "image <id>.png missing" });
        continue;
      }
      counts[layout.origin]++;
      pool.set(id, {
        id,
        label,
        image: { path: join(root, ...image.split("/")) },
        meta: { male, origin: layout.origin, boneAgeMonths: age },
      });
    }
  }
  if (used.length === 0) {
    throw new InputError(
      `no labelled CSV (columns id,boneage,male or Image ID,male,Bone Age (months)) found in it.\n${fetchHelp()}`,
      { file: root },
    );
  }

  const rows = [...pool.values()];
  const split = balancedTestSplit(rows, {
    fraction: (n) => Math.floor(n / BONEAGE_SPLIT.divisor),
    cap: BONEAGE_SPLIT.cap,
    seed: ctx.seed,
  });
  const peak = peakSparseLabels(rows.map((r) => r.label), BONEAGE_PEAK_FILTER);
  const n = (x: number) => x.toLocaleString("en-US");
  ctx.log(
    `boneage-dir: ${n(counts.train)} training + ${n(counts.validation)} validation images → ` +
      `${n(split.train.length)} train / ${n(split.test.length)} test (${counts.missing} without an image, ` +
      `${counts.duplicate} duplicate ids)`,
  );
  const f = BONEAGE_PEAK_FILTER;
  return {
    train: split.train,
    test: split.test,
    dropped,
    inputs,
    protocol: [
      `Pool: the labelled images of the RSNA Pediatric Bone Age Challenge 2017 (${BONEAGE_SOURCES.rsna}): the ` +
      `official training set (\`train.csv\`, columns \`id,boneage,male\`; the Kaggle mirror's ` +
      `\`boneage-training-dataset.csv\` has the same layout) plus the official validation set ` +
      `(\`Validation Dataset.csv\`, columns \`Image ID,male,Bone Age (months)\`), as in the authors' ` +
      `merged_train_val.csv. The official 200-image test set is not used (its labels are in an xlsx and ` +
      `the authors' pool leaves it out); files under any path containing the word "test" are ignored.`,
      `CSVs read here: ${used.map((u) => `\`${u}\``).join(", ")} (in path order; sha256 in the inputs). ` +
      `Images: \`<id>.png\` at any depth of the data folder; if several files share an id, those under a ` +
      `path naming the row's set ("train" / "valid", any case) are preferred, then the fewest path ` +
      `segments, then the smallest path.`,
      `Label: the integer part of the CSV's bone age in months (pandas \`astype(int)\`, as the authors), ` +
      `0–${BONEAGE_LABEL.max} months, bin width 1` +
      (counts.nonInteger ? `; ${counts.nonInteger} ages here had a fraction, truncated` : "") +
      `. Rows dropped: the image is missing (${counts.missing}); an id already pooled from an earlier CSV ` +
      `row (${counts.duplicate}); an age above ${BONEAGE_LABEL.max} months (${counts.range}). Pooled here: ` +
      `${n(counts.train)} training + ${n(counts.validation)} validation = ${n(rows.length)}.`,
      `Split (balanced test, no validation split): per integer month, ascending, the rows sorted by id ` +
      `(\`boneage-<id>\`, code-unit order) are shuffled by Fisher–Yates with one dirbench seededRng (sfc32) ` +
      `stream of seed ${ctx.seed} shared across months; the first min(⌊n/${BONEAGE_SPLIT.divisor}⌋, ` +
      `${BONEAGE_SPLIT.cap}) go to test, the rest to train. Here: ${n(split.train.length)} train / ` +
      `${n(split.test.length)} test before image decoding; images that do not decode are dropped while ` +
      `preparing, after the draw (listed in dropped.json).`,
      `Differences from the paper: the authors (xmed-lab/CCC-GRPO, data/boneage/plot.py) drew the same rule ` +
      `with Python's random.seed(666) over pandas row order, so test membership differs, but the per-month ` +
      `counts depend only on the pool. The paper's 12,528 train + 1,508 test = 14,036 = 12,611 + 1,425 is ` +
      `the full unfiltered pool, which should give the same counts here (not checked on the full data).`,
      `Peak filter not applied: the authors' code also has a filter that drops sparse months inside the ` +
      `histogram's peak (density = rows within ±${Math.floor(f.window / 2)} months; peak = the span of ` +
      `months whose density is ≥ ${f.ratio} × the largest; sparse = months in it with ≤ ${f.threshold} ` +
      `rows), but the paper's counts add up to the unfiltered pool. On this pool it would remove ` +
      `${n(peak.removed)} rows from ${peak.sparse.length} months` +
      (peak.peak ? ` in the peak ${peak.peak[0]}–${peak.peak[1]}` : "") + ".",
    ],
  };
}

/** The `boneage-dir` adapter. */
export const boneAgeDir: DatasetAdapter = {
  id: "boneage-dir",
  title: "BoneAge-DIR (RSNA Pediatric Bone Age)",
  task: "bone-age",
  label: BONEAGE_LABEL,
  source:
    `RSNA Pediatric Bone Age Challenge 2017 (${BONEAGE_SOURCES.rsna}), public S3 zips or the Kaggle mirror`,
  licence:
    "RSNA's custom terms of use for the 2017 AI challenge data: non-commercial research with attribution",
  defaultSeed: 0,
  fetch: (ctx) => fetchBoneAge(ctx, { quiet: ctx.quiet === true }),
  load: loadBoneAge,
};
