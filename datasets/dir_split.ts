/**
 * The official DIR split files of Yang et al. (ICML 2021), shared by AgeDB-DIR and IMDB-WIKI-DIR: a CSV
 * with header `age,path,split`, pinned to one commit of `YyzHarry/imbalanced-regression` by its git blob
 * SHA-1. This module parses it, names its pinned sources, and finds it for `prepare`: `--split` (hash
 * still checked), else the fetch cache.
 *
 * @module
 */

import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import { downloadFile, gitBlobSha1, type RemoteFile } from "./fetch.ts";

/** The commit of `YyzHarry/imbalanced-regression` the split files are pinned to (its HEAD since 2022). */
export const DIR_SPLITS_COMMIT = "a6fdc45d45c04e6f5c40f43925bc66e580911084";

const RAW = `https://raw.githubusercontent.com/YyzHarry/imbalanced-regression/${DIR_SPLITS_COMMIT}`;

/** AgeDB-DIR's split file (687,669 bytes, 16,488 rows). */
export const AGEDB_SPLIT: RemoteFile = {
  name: "agedb.csv",
  url: `${RAW}/agedb-dir/data/agedb.csv`,
  gitBlobSha1: "78abfdb939ff5cf68672cf11ee9b84a0eb9e990a",
  sha256: "ab9f8d4c7099a9d74ec5094c42b6fe9f1927a166a48d2ab800a88b2fd6081252",
  size: 687_669,
};

/** IMDB-WIKI-DIR's split file (about 13 MB, 213,553 rows; only its git blob SHA-1 is pinned). */
export const IMDB_WIKI_SPLIT: RemoteFile = {
  name: "imdb_wiki.csv",
  url: `${RAW}/imdb-wiki-dir/data/imdb_wiki.csv`,
  gitBlobSha1: "c1512e3da0de9076a0793b982c9a74cd872c0d8b",
};

/** The three splits of the DIR CSVs. */
export type DirSplitName = "train" | "val" | "test";

/** One row of a DIR split file. */
export interface DirSplitRow {
  /** 1-based line in the file (the header is line 1). */
  line: number;
  /** Age in whole years. */
  age: number;
  /** Image path relative to the data directory, exactly as written (e.g. `AgeDB/11706_OliviaHussey_31_f.jpg`). */
  path: string;
  /** Which split the row is in. */
  split: DirSplitName;
}

const SPLITS = new Set<string>(["train", "val", "test"]);

/**
 * Parses a DIR split CSV (`age,path,split`, LF or CRLF, optional BOM). The path is everything between the
 * first and the last comma, so a comma inside a file name survives. Every problem is an
 * {@linkcode InputError} naming `file` and the line.
 */
export function parseDirSplit(text: string, file: string): DirSplitRow[] {
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  const header = lines[0].replace(/\r$/, "").trim();
  if (header !== "age,path,split") {
    throw new InputError(`expected the header "age,path,split", got ${JSON.stringify(header)}`, {
      file,
      line: 1,
    });
  }
  const rows: DirSplitRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, "");
    if (raw.trim() === "") continue;
    const line = i + 1;
    const first = raw.indexOf(","), last = raw.lastIndexOf(",");
    if (first < 0 || first === last) {
      throw new InputError(`expected three fields "age,path,split", got ${JSON.stringify(raw)}`, {
        file,
        line,
      });
    }
    const ageText = raw.slice(0, first).trim();
    const path = raw.slice(first + 1, last).trim();
    const split = raw.slice(last + 1).trim();
    if (!/^\d+$/.test(ageText)) {
      throw new InputError(`age must be a non-negative whole number, got ${JSON.stringify(ageText)}`, {
        file,
        line,
      });
    }
    if (path === "") throw new InputError("empty path", { file, line });
    if (!SPLITS.has(split)) {
      throw new InputError(`split must be train, val or test, got ${JSON.stringify(split)}`, { file, line });
    }
    rows.push({ line, age: Number(ageText), path, split: split as DirSplitName });
  }
  if (rows.length === 0) throw new InputError("has a header but no rows", { file });
  return rows;
}

/** A split file that was found and verified. */
export interface ResolvedSplit {
  /** Where it was read from. */
  path: string;
  /** Its rows. */
  rows: DirSplitRow[];
  /** SHA-256 of its bytes. */
  sha256: string;
  /** Git blob SHA-1 of its bytes. */
  gitBlobSha1: string;
}

/** Where `fetch` keeps a dataset's split file: `<cache>/<dataset id>/<name>`. */
export function splitCachePath(cache: string, datasetId: string, spec: RemoteFile): string {
  return join(cache, datasetId, spec.name);
}

/** Downloads the pinned split file into the cache (skipped when it is already there and verifies). */
export async function fetchSplitFile(
  spec: RemoteFile,
  datasetId: string,
  cache: string,
  options: { quiet?: boolean; fetchImpl?: typeof fetch } = {},
): Promise<string> {
  const dest = splitCachePath(cache, datasetId, spec);
  await downloadFile(spec, dest, options);
  return dest;
}

/**
 * Finds, verifies and parses a dataset's split file: `--split <csv>` when given (its hashes are still
 * checked against the pinned ones), else the copy `fetch` put in the cache, else an
 * {@linkcode InputError} telling the user to run `deno task fetch <id>` or pass `--split`.
 */
export async function resolveSplitFile(
  spec: RemoteFile,
  datasetId: string,
  ctx: { cache: string; split?: string },
): Promise<ResolvedSplit> {
  const path = ctx.split ?? splitCachePath(ctx.cache, datasetId, spec);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    if (ctx.split) throw new InputError("split file not found", { file: path });
    throw new InputError(
      `${datasetId}: split file ${spec.name} not found in the cache (${path}); run \`deno task fetch ${datasetId}\` ` +
        `first, or pass a local copy with --split <csv>`,
    );
  }
  const actual = { gitBlobSha1: await gitBlobSha1(bytes), sha256: await sha256Hex(bytes) };
  for (const algo of ["gitBlobSha1", "sha256"] as const) {
    const want = spec[algo];
    if (want && actual[algo] !== want) {
      const label = algo === "gitBlobSha1" ? "git blob SHA-1" : "SHA-256";
      throw new InputError(
        `is not the official ${spec.name} (${label} ${actual[algo]}, expected ${want}, from ${spec.url}); ` +
          (ctx.split
            ? "pass the unmodified file with --split, or drop --split to use the fetched copy"
            : `delete it and run \`deno task fetch ${datasetId}\` again`),
        { file: path },
      );
    }
  }
  const rows = parseDirSplit(new TextDecoder("utf-8", { fatal: false }).decode(bytes), path);
  return { path, rows, ...actual };
}
